// botgate console: optional niceties only; every page works without it.
// A "Copy" button next to a new secret copies it to the clipboard.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-copy]").forEach(function (b) {
    var field = document.getElementById(b.getAttribute("data-copy"));
    if (!field || !navigator.clipboard) { return; }
    b.hidden = false;
    b.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () { b.textContent = "Copied"; });
    });
  });
});
