/* The browser's recorder for an open question (templates/survey/recording.html).
   The page always has a file input for a voice message, which works with no JavaScript.
   Where the browser can record (MediaRecorder) and can fill a file input (DataTransfer),
   this adds a Record button: what is recorded is put in that same file input, so
   Continue sends it in the form like a chosen file, and the server checks it the same
   way. Nothing records until the button is pressed; the browser asks for the
   microphone then. The words come from the page (data-* attributes), in its language. */
(function () {
  "use strict";
  var TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4", "audio/webm"];
  var ENDINGS = { "audio/webm": ".webm", "audio/ogg": ".ogg", "audio/mp4": ".m4a" };

  function supported() {
    if (!window.MediaRecorder || !navigator.mediaDevices ||
        !navigator.mediaDevices.getUserMedia || typeof DataTransfer !== "function") {
      return false;
    }
    try { return new DataTransfer().items !== undefined; } catch (e) { return false; }
  }

  function chosenType() {
    for (var i = 0; i < TYPES.length; i += 1) {
      if (MediaRecorder.isTypeSupported(TYPES[i])) { return TYPES[i]; }
    }
    return "";
  }

  function setUp(box) {
    var input = box.querySelector("input[type=file]");
    var words = box.dataset;
    var button = document.createElement("button");
    var status = document.createElement("p");
    var preview = document.createElement("audio");
    var recorder = null;
    var parts = [];

    button.type = "button";
    button.className = "button secondary record-button";
    button.textContent = words.start;
    status.className = "record-status";
    status.setAttribute("role", "status");
    preview.controls = true;
    preview.hidden = true;
    // The Record button comes first, just after "Or send a voice message."
    var lead = box.querySelector(".recorder-or");
    box.insertBefore(button, lead ? lead.nextSibling : box.firstChild);
    box.appendChild(status);
    box.appendChild(preview);

    function finished() {
      var type = (recorder.mimeType || "audio/webm").split(";")[0];
      var blob = new Blob(parts, { type: type });
      var file = new File([blob], "voice-message" + (ENDINGS[type] || ".webm"), { type: type });
      var transfer = new DataTransfer();
      transfer.items.add(file);
      input.files = transfer.files;
      preview.src = URL.createObjectURL(blob);
      preview.hidden = false;
      status.textContent = words.done;
      button.textContent = words.start;
      recorder.stream.getTracks().forEach(function (track) { track.stop(); });
      recorder = null;
    }

    button.addEventListener("click", function () {
      if (recorder) { recorder.stop(); return; }
      navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
        var type = chosenType();
        recorder = type ? new MediaRecorder(stream, { mimeType: type })
                        : new MediaRecorder(stream);
        parts = [];
        recorder.addEventListener("dataavailable", function (event) {
          if (event.data && event.data.size) { parts.push(event.data); }
        });
        recorder.addEventListener("stop", finished);
        recorder.start();
        button.textContent = words.stop;
        status.textContent = words.recording;
        preview.hidden = true;
      }).catch(function () {
        status.textContent = words.denied;
      });
    });
  }

  if (!supported()) { return; }
  var boxes = document.querySelectorAll("[data-recorder]");
  for (var i = 0; i < boxes.length; i += 1) { setUp(boxes[i]); }
}());
