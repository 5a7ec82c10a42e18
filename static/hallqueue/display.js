/* The hall display: polls the display state every 500 ms with If-None-Match (see
   hallqueue/display.py for why polling), renders it, and announces each new call with a
   chime and the spoken words "请 J001 号到 3 号窗口办理" — through the browser's own zh-CN
   voice when one is installed locally, else through the recorded clips in
   static/hallqueue/audio (no internet needed either way). After a network or server
   failure it keeps retrying with a growing pause (up to 5 s) and recovers by itself.

   The screen never shows an old call as if it were current: each poll gives up after
   POLL_TIMEOUT_MS (a poll that never answers counts as a failure), and while polls fail
   the offline banner shows and the calls on screen are dimmed. After RELOAD_AFTER failures
   in a row, or when the first poll fails, it reloads the page as soon as the page itself
   answers again (a restarted or upgraded server gets a fresh page and script).

   Test hooks: #hall-latest[data-spoken-text] is the newest call's words; #hall
   [data-announced-text] the last words announced, [data-voice] "speech" or "clips",
   [data-conn] "online" or "offline". ?voice=clips|speech|off forces the voice. */
(function () {
  "use strict";
  var hall = document.getElementById("hall");
  if (!hall) { return; }
  var stateUrl = hall.getAttribute("data-state-url");
  var audioBase = hall.getAttribute("data-audio-base");
  var timeZone = hall.getAttribute("data-timezone") || "Asia/Shanghai";
  var POLL_MS = 500, MAX_BACKOFF_MS = 5000, MAX_BACKLOG = 3, CLIP_TIMEOUT_MS = 4000;
  var POLL_TIMEOUT_MS = 3000, RELOAD_AFTER = 8, FIRST_LOAD_RELOAD_AFTER = 2;
  var etag = null, failures = 0, serverSkewMs = 0, everOnline = false, reloading = false;
  var lastEventId = parseInt(hall.getAttribute("data-last-event") || "0", 10) || 0;
  var services = {};
  var queue = [], busy = false;
  var params = new URLSearchParams(window.location.search);
  var forcedVoice = params.get("voice");
  var CN_DIGITS = "零一二三四五六七八九";
  // Visible labels in the page's language (the template translates them); "{window}" is
  // where the window number goes. The spoken words below stay Mandarin whatever the page.
  var windowLabel = hall.getAttribute("data-window-label") || "{window} 号窗口";
  var callLabel = hall.getAttribute("data-call-label") || "请到 {window} 号窗口办理";
  var locale = hall.getAttribute("data-locale") || "zh-CN";

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function spokenText(number, windowNumber) {
    return "请 " + number + " 号到 " + windowNumber + " 号窗口办理";
  }
  function hhmm(iso) { return iso ? iso.slice(11, 16) : ""; }
  function windowText(windowNumber) { return windowLabel.split("{window}").join(windowNumber); }

  /* --- rendering ------------------------------------------------------------------- */
  function renderLatest(call) {
    var box = $("hall-latest");
    box.textContent = "";
    if (!call) {
      box.className = "hall-latest empty";
      box.removeAttribute("data-spoken-text");
      box.appendChild(el("div", "call", hall.getAttribute("data-idle-text") || ""));
      return;
    }
    box.className = "hall-latest";
    box.setAttribute("data-spoken-text", spokenText(call.number, call.window));
    box.appendChild(el("div", "label", hall.getAttribute("data-now-label") || ""));
    var line = el("div", "call");
    line.appendChild(el("span", "num", call.number));
    var parts = callLabel.split("{window}");
    line.appendChild(document.createTextNode(parts[0]));
    line.appendChild(el("span", "win", call.window));
    line.appendChild(document.createTextNode(parts.slice(1).join(call.window)));
    box.appendChild(line);
  }

  function render(state) {
    services = state.services || services;
    renderLatest(state.calling[0]);
    var calling = $("hall-calling");
    calling.textContent = "";
    state.calling.forEach(function (call, index) {
      var item = el("li", index === 0 ? "newest" : "");
      item.setAttribute("data-window", call.window);
      item.setAttribute("data-spoken-text", spokenText(call.number, call.window));
      item.appendChild(el("span", "num", call.number));
      item.appendChild(el("span", "win", windowText(call.window)));
      calling.appendChild(item);
    });
    var history = $("hall-history");
    history.textContent = "";
    (state.history || []).forEach(function (h) {
      var item = el("li");
      item.appendChild(el("span", "num", h.number));
      item.appendChild(el("span", "win", windowText(h.window)));
      item.appendChild(el("span", "time", hhmm(h.called_at)));
      history.appendChild(item);
    });
    var waiting = $("hall-waiting");
    waiting.textContent = "";
    (state.service_order || Object.keys(state.waiting)).forEach(function (code) {
      if (!(code in state.waiting)) { return; }
      var name = services[code] ? services[code].name : code;
      waiting.appendChild(el("li", "service", name));
      var count = el("li", "count", String(state.waiting[code]));
      count.setAttribute("data-service", code);
      waiting.appendChild(count);
    });
    var notices = $("hall-notices-list");
    notices.textContent = "";
    state.notices.forEach(function (text) { notices.appendChild(el("span", "notice", text)); });
    var until = $("hall-open-until");
    until.textContent = state.open_until
      ? (hall.getAttribute("data-open-until-label") || "") + " " + state.open_until : "";
    hall.setAttribute("data-extended", state.extended ? "true" : "false");
  }

  /* --- announcing -------------------------------------------------------------------- */
  function newCalls(state) {
    var fresh = (state.history || []).filter(function (h) { return h.id > lastEventId; });
    if (!fresh.length) { return []; }
    lastEventId = Math.max.apply(null, fresh.map(function (h) { return h.id; }));
    fresh.reverse();  // oldest first
    return fresh.slice(-MAX_BACKLOG);  // after a long outage, only the latest few
  }

  function localZhVoice() {
    if (!("speechSynthesis" in window)) { return null; }
    var voices = window.speechSynthesis.getVoices() || [];
    var zh = voices.filter(function (v) {
      var lang = (v.lang || "").toLowerCase().replace("_", "-");
      return lang === "zh-cn" || lang === "cmn-cn" || lang === "zh-hans-cn" || lang === "cmn";
    });
    // A voice that needs the internet (Google's online voices) is no use on a hall intranet.
    var local = zh.filter(function (v) { return v.localService; });
    return local[0] || null;
  }

  function voiceMode() {
    if (forcedVoice === "off") { return "off"; }
    if (forcedVoice === "clips") { return "clips"; }
    if (forcedVoice === "speech") { return localZhVoice() ? "speech" : "clips"; }
    return localZhVoice() ? "speech" : "clips";
  }

  function clipsFor(number, windowNumber) {
    var clips = ["qing"];
    number.split("").forEach(function (ch) {
      if (/[0-9]/.test(ch)) { clips.push("digit-" + ch); }
      else if (/[JLFB]/i.test(ch)) { clips.push("letter-" + ch.toLowerCase()); }
    });
    clips.push("hao-dao");
    var n = /^[0-9]{1,2}$/.test(windowNumber) ? parseInt(windowNumber, 10) : null;
    if (n !== null && n >= 10) {  // 10 十, 12 十二, 20 二十, 35 三十五
      if (n >= 20) { clips.push("digit-" + Math.floor(n / 10)); }
      clips.push("ten");
      if (n % 10) { clips.push("digit-" + (n % 10)); }
    } else {
      windowNumber.split("").forEach(function (ch) {
        if (/[0-9]/.test(ch)) { clips.push("digit-" + ch); }
        else if (/[JLFB]/i.test(ch)) { clips.push("letter-" + ch.toLowerCase()); }
      });
    }
    clips.push("window-banli");
    return clips;
  }

  function speechTextFor(number, windowNumber) {
    // "J001" read digit by digit, as halls call it: J 零零一
    var spelled = number.replace(/[0-9]/g, function (d) { return CN_DIGITS[+d]; });
    return "请 " + spelled + " 号到 " + windowNumber + " 号窗口办理";
  }

  var audioCache = {};
  function clip(name) {
    if (!audioCache[name]) {
      audioCache[name] = new Audio(audioBase + name + ".ogg");
      audioCache[name].preload = "auto";
    }
    return audioCache[name];
  }

  function playSequence(names) {
    return names.reduce(function (chain, name) {
      return chain.then(function () {
        return new Promise(function (resolve, reject) {
          var audio = clip(name);
          audio.currentTime = 0;
          var timer = null;
          var done = function () {
            clearTimeout(timer);
            audio.onended = audio.onerror = null;
            resolve();
          };
          audio.onended = done;
          audio.onerror = done;  // a missing clip must not stop the call
          timer = setTimeout(done, CLIP_TIMEOUT_MS);  // nor a sound card that never ends it
          var played = audio.play();
          if (played && played.catch) { played.catch(reject); }
        });
      });
    }, Promise.resolve());
  }

  function speak(text) {
    return new Promise(function (resolve, reject) {
      var utterance = new SpeechSynthesisUtterance(text);
      utterance.voice = localZhVoice();
      utterance.lang = "zh-CN";
      utterance.rate = 0.9;
      var timer = setTimeout(resolve, 10000);  // some engines never fire "end"
      utterance.onend = function () { clearTimeout(timer); resolve(); };
      utterance.onerror = function (event) {
        clearTimeout(timer);
        if (event.error === "not-allowed") { reject(event); } else { resolve(); }
      };
      window.speechSynthesis.speak(utterance);
    });
  }

  function announce(call) {
    var text = call.text || spokenText(call.number, call.window);
    hall.setAttribute("data-announced-text", text);
    hall.setAttribute("data-announced-id", String(call.id));
    var latest = $("hall-latest");
    latest.classList.remove("flash-new");
    void latest.offsetWidth;  // restart the animation
    latest.classList.add("flash-new");
    var mode = voiceMode();
    hall.setAttribute("data-voice", mode);
    if (mode === "off") { return Promise.resolve(); }
    return playSequence(["chime"]).then(function () {
      return mode === "speech" ? speak(speechTextFor(call.number, call.window))
        : playSequence(clipsFor(call.number, call.window));
    });
  }

  var announced = 0;
  var blocked = false;  // the browser refused to play before a click (autoplay policy)

  function drain() {
    if (busy || blocked || !queue.length) { return; }
    busy = true;
    announce(queue[0]).then(function () {
      queue.shift();
      announced += 1;
      hall.setAttribute("data-announcements", String(announced));
      hall.setAttribute("data-sound", "on");
      $("hall-sound").hidden = true;
      busy = false;
      setTimeout(drain, 400);
    }, function () {
      blocked = true;  // keep the call; say it after the click
      busy = false;
      $("hall-sound").hidden = false;
    });
  }

  $("hall-sound").addEventListener("click", function () {
    blocked = false;
    $("hall-sound").hidden = true;
    drain();
  });

  /* --- polling ------------------------------------------------------------------------- */
  function setConnection(online) {
    var box = $("hall-conn");
    hall.setAttribute("data-conn", online ? "online" : "offline");
    box.setAttribute("data-state", online ? "online" : "offline");
  }

  function nextPollIn(startedAt) {  // polls start every POLL_MS, however long one took
    return Math.max(50, POLL_MS - (Date.now() - startedAt));
  }

  /* fetch with a deadline: a stalled answer is aborted, and counts as a failure */
  function fetchWithTimeout(url, options) {
    if (!window.AbortController) { return fetch(url, options); }
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, POLL_TIMEOUT_MS);
    options.signal = controller.signal;
    return fetch(url, options).then(function (response) {
      // the body too must arrive in time: read it before the timer is cleared
      return (response.status === 200 ? response.clone().text() : Promise.resolve(""))
        .then(function () { clearTimeout(timer); return response; });
    }, function (error) { clearTimeout(timer); throw error; });
  }

  function reloadWhenThePageAnswers() {
    if (reloading) { return; }
    reloading = true;
    fetchWithTimeout(window.location.href, { cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        if (response.ok) { window.location.reload(); } else { reloading = false; }
      }, function () { reloading = false; });
  }

  function poll() {
    var startedAt = Date.now();
    var headers = {};
    if (etag) { headers["If-None-Match"] = etag; }
    fetchWithTimeout(stateUrl, { headers: headers, cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        var date = response.headers.get("Date");
        if (date) { serverSkewMs = Date.parse(date) - Date.now(); }
        if (response.status === 304) { return null; }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        etag = response.headers.get("ETag");
        return response.json();
      })
      .then(function (state) {
        failures = 0;
        everOnline = true;
        setConnection(true);
        if (state) {
          render(state);
          newCalls(state).forEach(function (call) { queue.push(call); });
          queue = queue.slice(-MAX_BACKLOG);
          drain();
        }
        setTimeout(poll, nextPollIn(startedAt));
      })
      .catch(function () {
        failures += 1;
        setConnection(false);
        hall.setAttribute("data-failures", String(failures));
        if (failures >= RELOAD_AFTER || (!everOnline && failures >= FIRST_LOAD_RELOAD_AFTER)) {
          reloadWhenThePageAnswers();
        }
        setTimeout(poll, Math.min(MAX_BACKOFF_MS, POLL_MS * Math.pow(2, Math.min(failures, 4))));
      });
  }

  /* --- the clock ----------------------------------------------------------------------- */
  var clockFormat = new Intl.DateTimeFormat(locale, { timeZone: timeZone, hour: "2-digit",
    minute: "2-digit", second: "2-digit", hour12: false });
  var dateFormat = new Intl.DateTimeFormat(locale, { timeZone: timeZone, year: "numeric",
    month: "long", day: "numeric", weekday: "long" });
  function tick() {
    var now = new Date(Date.now() + serverSkewMs);
    $("hall-clock").textContent = clockFormat.format(now);
    $("hall-date").textContent = dateFormat.format(now);
  }
  tick();
  setInterval(tick, 1000);

  if ("speechSynthesis" in window && window.speechSynthesis.onvoiceschanged !== undefined) {
    window.speechSynthesis.onvoiceschanged = function () {
      hall.setAttribute("data-voice", voiceMode());
    };
  }
  hall.setAttribute("data-voice", voiceMode());
  window.XiyueHall = { clipsFor: clipsFor, speechTextFor: speechTextFor };  // for tests
  ["chime", "qing", "hao-dao", "window-banli"].forEach(clip);  // warm the cache
  poll();
}());
