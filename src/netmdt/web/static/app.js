// After a failed submit, move focus to the error summary so that screen-reader and
// keyboard users hear what went wrong first (GOV.UK / NHS.UK pattern).
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector(".problems[tabindex]");
  if (summary) { summary.focus(); }
});
