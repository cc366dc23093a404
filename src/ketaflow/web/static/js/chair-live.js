// The chair page's alarm sound: a short beep (Web Audio, no audio file) when a new HOLD or STOP
// alarm appears in the live region, if the nurse switched the sound on. Off by default; the
// choice is kept in localStorage for this browser. Without JavaScript the page still shows
// the banner (the live region updates on reload), so nothing here is needed for safety.
(function () {
  "use strict";
  var KEY = "ketaflow.chair.alarmSound";
  var audio = null;

  function soundOn() {
    try { return window.localStorage.getItem(KEY) === "on"; } catch (e) { return false; }
  }

  function remember(on) {
    try { window.localStorage.setItem(KEY, on ? "on" : "off"); } catch (e) { /* private mode */ }
  }

  function audioContext() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) { return null; }
    if (audio === null) { audio = new Context(); }
    // Browsers start audio suspended until the page has had a click; resuming is harmless.
    if (audio.state === "suspended") { audio.resume(); }
    return audio;
  }

  function beep() {
    var context = audioContext();
    var root = document.documentElement;
    // Counted on the page so a test (or a curious nurse) can see an alarm sounded.
    root.setAttribute("data-alarm-beeps", String(Number(root.getAttribute("data-alarm-beeps") || 0) + 1));
    if (context === null) { return; }
    [0, 0.3, 0.6].forEach(function (offset) {
      var tone = context.createOscillator();
      var gain = context.createGain();
      tone.type = "square";
      tone.frequency.value = 880;
      gain.gain.value = 0.2;
      tone.connect(gain);
      gain.connect(context.destination);
      tone.start(context.currentTime + offset);
      tone.stop(context.currentTime + offset + 0.18);
    });
  }

  function alarmIds() {
    var slot = document.getElementById("alarm-slot");
    var ids = slot ? (slot.getAttribute("data-alarm-ids") || "") : "";
    return ids.split(",").filter(function (id) { return id !== ""; });
  }

  var known = alarmIds();

  function onSwap() {
    var now = alarmIds();
    var fresh = now.filter(function (id) { return known.indexOf(id) < 0; });
    known = now;
    if (fresh.length > 0 && soundOn()) { beep(); }
  }

  function showToggle() {
    var button = document.getElementById("alarm-sound");
    if (!button) { return; }
    function draw() {
      var on = soundOn();
      button.setAttribute("aria-pressed", on ? "true" : "false");
      button.textContent = on ? "Alarm sound: on" : "Alarm sound: off";
    }
    button.hidden = false;
    draw();
    button.addEventListener("click", function () {
      remember(!soundOn());
      draw();
      if (soundOn()) { audioContext(); }  // created on the click, so it may play later
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    known = alarmIds();
    showToggle();
    document.body.addEventListener("htmx:afterSettle", onSwap);
  });
})();
