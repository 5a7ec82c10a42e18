/* The registrar's window: keyboard shortcuts (N call next, R recall, C completed,
   X no-show, F refuse, T transfer, P pause/resume) and a confirmation before a no-show or
   a refusal. Keys are ignored while typing in a field. */
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("button[data-confirm]"), function (b) {
    b.addEventListener("click", function (event) {
      if (!window.confirm(b.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) { return; }
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "select" || tag === "textarea") { return; }
    var button = document.querySelector('button[data-key="' + event.key.toLowerCase() + '"]');
    if (!button || button.disabled) { return; }
    event.preventDefault();
    if (button.getAttribute("name") === "action" && button.form) {
      var select = button.form.querySelector("select[required]");
      if (select && !select.value) { select.focus(); return; }  // choose a reason first
    }
    button.click();
  });
}());
