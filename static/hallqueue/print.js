/* The printed ticket: a print button at the desk; at the kiosk the ticket prints by itself
   (run the kiosk browser with --kiosk-printing) and the screen returns to the start. */
(function () {
  "use strict";
  var button = document.querySelector("[data-print]");
  if (button) { button.addEventListener("click", function () { window.print(); }); }
  var kiosk = document.getElementById("kiosk-ticket");
  if (kiosk) {
    setTimeout(function () { window.print(); }, 300);
    var seconds = parseInt(kiosk.getAttribute("data-return-after") || "20", 10);
    setTimeout(function () { window.location.href = kiosk.getAttribute("data-return-to"); },
               seconds * 1000);
  }
}());
