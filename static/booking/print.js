// The confirmation page's print button: shown only where JavaScript runs (the browser's own
// print command works everywhere).
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
});
