// The monthly report's print button (no inline script: the CSP forbids it).
(function () {
  var button = document.getElementById("print-report");
  if (button) { button.addEventListener("click", function () { window.print(); }); }
})();
