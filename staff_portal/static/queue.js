// The on-call queue: polls for open requests and, when the set changes, reloads the list
// (not the page); a new one also shows a banner and plays a short tone. Waiting minutes are
// updated from the poll, so the cards (each an audited read) are fetched only on a change.
// No library; same-origin only.
(function () {
  "use strict";
  // Opened from a notification (/portal/queue/?request=<id>, also after signing in, which
  // drops the #fragment): bring that request's card into view.
  var wanted = new URLSearchParams(location.search).get("request");
  var card = wanted && /^[0-9a-f-]{36}$/.test(wanted) ? document.getElementById("r-" + wanted) : null;
  if (card) { card.scrollIntoView({ block: "start" }); }
  var status = document.getElementById("live-status");
  var live = document.getElementById("live");
  var banner = document.getElementById("new-banner");
  if (!status || !live) { return; }
  var POLL_MS = 4000;
  var known = new Set(currentIds());
  var lastSet = Array.from(known).sort().join(",");
  var audio = null;
  var baseTitle = document.title;
  window.muliCues = 0;

  function currentIds() {
    var list = document.getElementById("open-list");
    var ids = list ? list.getAttribute("data-open-ids") : "";
    return ids ? ids.split(",") : [];
  }

  function ensureAudio() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!audio && Ctx) { audio = new Ctx(); }
    if (audio && audio.state === "suspended") { audio.resume(); }
    return audio;
  }

  function tone(at, freq) {
    var osc = audio.createOscillator();
    var gain = audio.createGain();
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.4, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.3);
    osc.connect(gain).connect(audio.destination);
    osc.start(at);
    osc.stop(at + 0.32);
  }

  function cue() {
    window.muliCues += 1;
    banner.hidden = false;
    document.title = "(!) " + baseTitle;
    if (audio && audio.state === "running") {
      var t = audio.currentTime;
      tone(t, 880); tone(t + 0.4, 660); tone(t + 0.8, 880);
    }
  }

  function refresh(newIds) {
    return fetch(status.dataset.live, { credentials: "same-origin" }).then(function (r) {
      if (r.status === 200) { return r.text(); }
      if (r.redirected || r.status === 401) { expired(); }
      throw new Error("refresh " + r.status);
    }).then(function (html) {
      live.innerHTML = html;
      (newIds || []).forEach(function (id) {
        var card = document.getElementById("r-" + id);
        if (card) { card.classList.add("new-request"); }
      });
    });
  }

  function expired() {
    clearInterval(pollTimer);
    status.innerHTML = "";
    var a = document.createElement("a");
    a.href = status.dataset.login;
    a.textContent = status.dataset.expired;
    status.appendChild(a);
    status.classList.add("flash", "error");
  }

  // The ETag of the last digest: while the queue is as it was (and nobody waited a minute
  // longer), the poll is a 304 with no body and nothing on the page changes.
  var pollTag = null;

  function poll() {
    var headers = { Accept: "application/json" };
    if (pollTag) { headers["If-None-Match"] = pollTag; }
    fetch(status.dataset.poll, { credentials: "same-origin", cache: "no-store", headers: headers })
      .then(function (r) {
        if (r.status === 401) { expired(); return null; }
        if (r.status === 304) { return null; }
        if (r.ok) { pollTag = r.headers.get("ETag"); }
        return r.ok ? r.json() : null;
      })
      .then(function (data) {
        if (!data) { return; }
        var ids = data.open.map(function (item) { return item.id; });
        data.open.forEach(function (item) {
          var span = document.querySelector('[data-minutes="' + item.id + '"]');
          if (span) { span.textContent = String(item.waiting_minutes); }
        });
        var fresh = ids.filter(function (id) { return !known.has(id); });
        var set = ids.slice().sort().join(",");
        ids.forEach(function (id) { known.add(id); });
        if (set !== lastSet) {
          lastSet = set;
          refresh(fresh);
        }
        if (fresh.length) { cue(); }
      })
      .catch(function () { /* offline for a moment: try again at the next tick */ });
  }

  document.getElementById("sound-on").addEventListener("click", function (e) {
    if (ensureAudio()) { e.target.textContent = e.target.textContent + " ✓"; tone(audio.currentTime, 660); }
  });
  document.addEventListener("keydown", ensureAudio, { once: true });
  document.addEventListener("pointerdown", ensureAudio, { once: true });
  banner.addEventListener("click", function () { banner.hidden = true; document.title = baseTitle; });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { document.title = baseTitle; }
  });
  var pollTimer = setInterval(poll, POLL_MS);
})();
