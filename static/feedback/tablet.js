// The rating tablet: reload when the ticket to rate changes (a new completion, or the
// shown one was rated elsewhere), but never while someone is typing a comment. The thank-you
// page goes back to the tablet after a few seconds (no meta refresh: it would interrupt a
// screen reader, and the page tells where it goes with its 返回 link).
(function () {
  var thanks = document.querySelector("[data-return-to]");
  if (thanks) {
    window.setTimeout(function () {
      window.location.replace(thanks.getAttribute("data-return-to"));
    }, 5000);
    return;
  }
})();
(function () {
  var root = document.querySelector("[data-rating-state]");
  if (!root) { return; }
  var url = root.getAttribute("data-rating-state");
  var shown = root.getAttribute("data-ticket") || "";
  var comment = document.getElementById("comment");
  function busy() {
    return comment && (document.activeElement === comment || comment.value.trim() !== "");
  }
  function check() {
    var request = new XMLHttpRequest();
    request.open("GET", url);
    request.onload = function () {
      if (request.status !== 200) { return; }
      var data = JSON.parse(request.responseText);
      var current = data.ticket ? String(data.ticket.number) : "";
      if (current !== shown && !busy()) { window.location.reload(); }
    };
    request.send();
  }
  window.setInterval(check, 5000);
})();
