/* Listen buttons for prompts with no recorded audio: the browser reads the words aloud.
   The buttons stay hidden where there is no speech synthesis (or no JavaScript). */
(function () {
  "use strict";
  if (!("speechSynthesis" in window)) { return; }
  document.querySelectorAll("button.speak").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var words = new SpeechSynthesisUtterance(button.dataset.text);
      words.lang = button.dataset.lang;
      window.speechSynthesis.cancel();
      window.speechSynthesis.speak(words);
    });
  });
}());
