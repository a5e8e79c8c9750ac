// NHS.UK frontend's components (the header's "More" menu at narrow widths, buttons,
// details, skip link...): the page template's inline class switch, done here because the
// app's CSP allows no inline script. Runs only where ES modules run, as NHS.UK intends.
import { initAll } from "./nhsuk/nhsuk-frontend.min.js";

document.body.classList.add("js-enabled", "nhsuk-frontend-supported");
initAll();
