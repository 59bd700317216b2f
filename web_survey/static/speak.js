/* Listen buttons (templates/survey/macros.html). Each holds its parts in order: a text and
   the URL of its rendered audio ("" where none). Pressing one plays every part in turn;
   a part with no file is read by the browser's voice for the page's language, where
   there is one. A button with no file and no voice stays hidden and the page says so.
   Nothing plays until a button is pressed. */
(function () {
  "use strict";
  var synth = window.speechSynthesis || null;
  var player = new Audio();
  var queue = [];
  var run = 0; // each press starts a new run; callbacks of an earlier run do nothing

  function voiceFor(lang) {
    if (!synth) { return null; }
    var prefix = lang.split("-")[0].toLowerCase();
    var voices = synth.getVoices();
    for (var i = 0; i < voices.length; i += 1) {
      if (voices[i].lang.toLowerCase().split(/[-_]/)[0] === prefix) { return voices[i]; }
    }
    return null;
  }

  function stop() {
    run += 1;
    queue = [];
    player.pause();
    player.removeAttribute("src");
    if (synth) { synth.cancel(); }
  }

  function next() {
    var mine = run;
    var then = function () { if (mine === run) { next(); } };
    var part = queue.shift();
    if (!part) { return; }
    if (part.src) {
      player.src = part.src;
      player.play().catch(then);
      return;
    }
    var voice = voiceFor(part.lang);
    if (!voice) { next(); return; }
    var words = new SpeechSynthesisUtterance(part.text);
    words.lang = voice.lang;
    words.voice = voice;
    words.onend = then;
    words.onerror = then;
    synth.speak(words);
  }

  player.addEventListener("ended", next);
  player.addEventListener("error", next);

  function play(box) {
    var parts = JSON.parse(box.dataset.parts || "[]");
    var lang = box.dataset.lang;
    stop();
    queue = parts.filter(function (part) { return part.src || voiceFor(lang); })
      .map(function (part) { return { text: part.text, src: part.src, lang: lang }; });
    next();
  }

  function setUp() {
    document.querySelectorAll(".listen").forEach(function (box) {
      var control = box.querySelector(".listen-button");
      if (!control) { return; }
      if (control.classList.contains("speak")) {
        var speaks = Boolean(voiceFor(box.dataset.lang));
        control.hidden = !speaks;
        var none = box.querySelector(".listen-none");
        if (none) { none.hidden = speaks; }
      }
      if (control.dataset.ready) { return; }
      control.dataset.ready = "1";
      control.addEventListener("click", function (event) {
        event.preventDefault();
        play(box);
      });
    });
  }

  setUp();
  if (synth && "onvoiceschanged" in synth) {
    synth.addEventListener("voiceschanged", setUp);
  }
}());
