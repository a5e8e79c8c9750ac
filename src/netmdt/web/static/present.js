// Presentation mode: left/right arrow (or p/n) go to the previous/next case of the meeting.
document.addEventListener("keydown", function (event) {
  var target = event.target;
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  if (target && /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) return;
  var rel = { ArrowLeft: "prev", p: "prev", ArrowRight: "next", n: "next" }[event.key];
  var link = rel && document.querySelector('a[rel="' + rel + '"]');
  if (link) { event.preventDefault(); window.location.href = link.href; }
});
