/* Front desk and kiosk: QR scanning (a USB scanner types into the focused field and presses
   Enter; or the camera through the browser's BarcodeDetector where it exists), a live check
   that each presented ID number matches the appointment, and the walk-in form's second
   applicant field. The server checks everything again; this only saves time. */
(function () {
  "use strict";

  function normalise(value) { return (value || "").replace(/\s+/g, "").toUpperCase(); }

  /* --- presence: the typed or read ID number against the one on the appointment -------- */
  var presence = Array.prototype.slice.call(document.querySelectorAll("input[data-expected]"));
  presence.forEach(function (input, index) {
    var mark = document.querySelector('[data-match-for="' + input.id + '"]');
    function check() {
      var value = normalise(input.value);
      var ok = value !== "" && presence.some(function (other) {
        return normalise(other.getAttribute("data-expected")) === value;
      });
      input.classList.toggle("ok", ok);
      input.classList.toggle("bad", value !== "" && !ok);
      if (mark) {
        // the words come from the page, in its language (data-ok, data-bad)
        mark.textContent = value === "" ? "" : mark.getAttribute(ok ? "data-ok" : "data-bad");
        mark.className = "hq-match " + (value === "" ? "" : (ok ? "ok" : "bad"));
      }
      return ok;
    }
    input.addEventListener("input", check);
    // An ID card reader or scanner ends with Enter: go to the next person, submit at the end.
    input.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") { return; }
      event.preventDefault();
      check();
      var next = presence[index + 1];
      if (next) { next.focus(); } else if (input.form) { input.form.requestSubmit(); }
    });
  });
  if (presence.length) { presence[0].focus(); }

  /* --- walk-in: one or two applicants ----------------------------------------------- */
  var service = document.getElementById("walk-service");
  var second = document.querySelector("[data-second-applicant]");
  function toggleSecond() {
    if (!service || !second) { return; }
    var option = service.options[service.selectedIndex];
    var two = option && option.getAttribute("data-applicants") === "2";
    second.hidden = !two;
    var input = second.querySelector("input");
    input.required = two;
    if (!two) { input.value = ""; }
  }
  if (service) { service.addEventListener("change", toggleSecond); toggleSecond(); }

  /* --- the camera, where the browser can read QR codes itself ------------------------ */
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices) { return; }
  Array.prototype.forEach.call(document.querySelectorAll("[data-camera-for]"), function (button) {
    var target = document.getElementById(button.getAttribute("data-camera-for"));
    var box = document.getElementById("camera-" + target.id);
    if (!target || !box) { return; }
    button.hidden = false;
    var stream = null;
    function stop() {
      if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
      box.hidden = true;
    }
    button.addEventListener("click", function () {
      if (stream) { stop(); return; }
      var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      var video = box.querySelector("video");
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } })
        .then(function (s) {
          stream = s;
          video.srcObject = s;
          box.hidden = false;
          return video.play();
        })
        .then(function () {
          (function scan() {
            if (!stream) { return; }
            detector.detect(video).then(function (codes) {
              if (codes.length && codes[0].rawValue) {
                target.value = codes[0].rawValue.trim();
                stop();
                if (target.form) { target.form.requestSubmit(); }
              } else {
                setTimeout(scan, 250);
              }
            }, function () { setTimeout(scan, 500); });
          }());
        })
        .catch(function () { stop(); button.hidden = true; });
    });
  });
}());
