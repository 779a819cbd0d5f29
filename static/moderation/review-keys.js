// Single-key shortcuts (a, r, s) in the review queue unless the moderator is typing in a
// field. A file of its own, not inline, so the Content-Security-Policy needs no exception.
document.addEventListener("keydown", function (event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (/^(INPUT|TEXTAREA|SELECT)$/.test(event.target.tagName)) return;
  var button = document.querySelector('button[data-key="' + event.key.toLowerCase() + '"]');
  if (button) { event.preventDefault(); button.click(); }
});
