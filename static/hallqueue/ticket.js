/* The ticket status page refreshes itself every 10 seconds (every 3 once the number is
   near) and makes the phone vibrate when the number is called. A missed number (过号)
   is still watched, every 20 seconds: the desk may put it back in the queue. */
(function () {
  "use strict";
  var box = document.getElementById("ticket");
  if (!box) { return; }
  var url = box.getAttribute("data-status-url");
  var windowLabel = document.querySelector("[data-window-label]").getAttribute("data-window-label");
  var previous = box.getAttribute("data-status");

  function show(state) {
    var label = box.getAttribute("data-label-" + state.status) || state.status;
    document.getElementById("ticket-status").textContent = label +
      (state.window ? " · " + windowLabel.replace("__W__", state.window) : "");
    document.getElementById("ticket-ahead").textContent = String(state.ahead);
    document.getElementById("ticket-wait").textContent = String(state.estimated_wait_minutes);
    document.getElementById("ticket-waiting").hidden = state.status !== "waiting";
    box.setAttribute("data-status", state.status);
    box.classList.toggle("is-called", state.status === "called");
    if (state.status === "called" && previous !== "called" && navigator.vibrate) {
      navigator.vibrate([300, 200, 300]);
    }
    previous = state.status;
    document.getElementById("ticket-updated").textContent =
      new Date().toLocaleTimeString("zh-CN", { hour12: false });
  }

  function refresh() {
    fetch(url, { cache: "no-store" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (state) {
        show(state);
        if (state.status === "waiting" || state.status === "called") {
          setTimeout(refresh, state.ahead <= 3 ? 3000 : 10000);
        } else if (state.status === "no_show") {
          setTimeout(refresh, 20000);
        }
      })
      .catch(function () { setTimeout(refresh, 15000); });
  }
  setTimeout(refresh, 3000);
}());
