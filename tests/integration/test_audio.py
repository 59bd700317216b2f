"""Rendering, caching, falling back and serving the spoken prompts.

gTTS runs its real code: its HTTP requests are answered on the way out by ``responses``
with a small valid MP3, as Google's batchexecute endpoint would answer. espeak-ng and
ffmpeg are the real programs where installed; tests that need one skip without it.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import requests
import responses

from bot.engine import Event
from content.audio import (
    SPEEDS,
    Renderer,
    Tools,
    audio_key,
    audio_status,
    audio_url,
    find_audio,
    speed_for,
    spoken_parts,
    spoken_texts,
)
from content.loader import load_library
from web_survey.cli import main

GOOGLE = "https://translate.google.com/_/TranslateWebserverUi/data/batchexecute"
ESPEAK = shutil.which("espeak-ng")
FFMPEG = Tools.find().ffmpeg
TEXTS = ("Do you feel safe?", "کیا آپ خود کو محفوظ محسوس کرتے ہیں؟")


def silent_mp3(frames: int = 12) -> bytes:
    """A short, valid MP3: MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz, mono) of silence."""
    frame = bytes([0xFF, 0xFB, 0x90, 0xC0]) + bytes(417 - 4)
    return frame * frames


MP3 = silent_mp3()


def _google_reply(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
    """Answer one gTTS request the way Google's endpoint does: the audio, base64, in
    a JSON line naming the jQ1olc call."""
    audio = base64.b64encode(MP3).decode()
    envelope = [["wrb.fr", "jQ1olc", json.dumps([audio]), None, None, None, "generic"]]
    body = ")]}'\n\n" + json.dumps(envelope, separators=(",", ":")) + "\n"
    return 200, {"Content-Type": "application/json"}, body


def _asked(call: responses.Call) -> list[object]:
    """The [text, language, slow, ...] a gTTS request asked for."""
    form = parse_qs(str(call.request.body))
    rpc = json.loads(form["f.req"][0])
    return json.loads(rpc[0][0][1])


@pytest.fixture
def google():
    """Google's text-to-speech endpoint, answered locally."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, GOOGLE, callback=_google_reply)
        yield mock


@pytest.fixture
def offline():
    """No network: every request fails to connect, as gTTS meets it on a closed machine."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, GOOGLE, body=requests.ConnectionError("no route to host"))
        yield mock


def _render(folder: Path, tools: Tools, language: str, texts=TEXTS, workers: int = 4):
    said: list[str] = []
    result = Renderer(folder, tools, said.append, workers).render(language, texts)
    return result, said


def test_gtts_renders_each_text_at_both_speeds_then_never_again(tmp_path, google):
    result, said = _render(tmp_path, Tools(None, None), "ur")
    assert (result.gtts, result.missing) == (4, 0)
    asked = sorted((a[0], a[1], bool(a[2])) for a in map(_asked, google.calls))
    assert asked == sorted((t, "ur", slow) for t in TEXTS for slow in (False, True))
    for text in TEXTS:
        for speed in SPEEDS:
            path = find_audio(tmp_path, text, "ur", speed)
            assert path is not None and path.suffix == ".mp3"
            assert path.read_bytes() == MP3
    assert said == ["ffmpeg with Opus is not installed: no OGG voice notes "
                    "(Telegram sends the audio file)."]

    calls = len(google.calls)
    again, _ = _render(tmp_path, Tools(None, None), "ur")
    assert len(google.calls) == calls  # a second run makes no request
    assert (again.gtts, again.cached) == (0, 4)


@pytest.mark.skipif(FFMPEG is None, reason="ffmpeg with an Opus encoder is not installed")
def test_voice_notes_are_ogg_opus_beside_the_mp3(tmp_path, google):
    result, said = _render(tmp_path, Tools(None, FFMPEG), "en")
    assert (result.gtts, result.voice_notes, said) == (4, 4, [])
    note = find_audio(tmp_path, TEXTS[0], "en", "slow", extensions=(".ogg",))
    assert note is not None
    head = note.read_bytes()[:64]
    assert head.startswith(b"OggS") and b"OpusHead" in head


@pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is not installed")
def test_offline_falls_back_to_espeak_and_a_later_online_run_replaces_it(tmp_path, offline):
    result, said = _render(tmp_path, Tools(ESPEAK, None), "ur", workers=1)
    assert (result.gtts, result.espeak, result.missing) == (0, 4, 0)
    # One at a time, gTTS is tried once, then left alone for the rest of the language.
    assert len(offline.calls) == 1
    assert len([line for line in said if "gTTS failed" in line]) == 1
    assert "ur (Urdu): gTTS failed" in said[-1] and "using espeak-ng" in said[-1]
    wav = find_audio(tmp_path, TEXTS[1], "ur", "slow")
    assert wav is not None and wav.suffix == ".wav"
    assert wav.read_bytes()[:4] == b"RIFF"
    normal = find_audio(tmp_path, TEXTS[1], "ur", "normal")
    assert normal is not None and normal.stat().st_size < wav.stat().st_size  # slower speech

    offline.remove(responses.POST, GOOGLE)
    offline.add_callback(responses.POST, GOOGLE, callback=_google_reply)
    online, _ = _render(tmp_path, Tools(ESPEAK, None), "ur")
    assert online.gtts == 4
    assert find_audio(tmp_path, TEXTS[1], "ur", "slow") == wav.with_suffix(".mp3")
    assert not wav.exists()


def test_offline_without_espeak_leaves_no_file_and_says_how_channels_fall_back(tmp_path,
                                                                               offline):
    result, said = _render(tmp_path, Tools(None, None), "pl", ("Czy czujesz się bezpiecznie?",))
    assert (result.gtts, result.espeak, result.missing) == (0, 0, 2)
    assert list((tmp_path / "pl").iterdir()) == []
    line = said[-1]
    assert line.startswith("pl (Polish): gTTS failed")
    assert "espeak-ng is not installed" in line and "<Say>" in line


def test_content_audio_gives_every_prompt_a_file_and_the_status_says_so(tmp_path, google,
                                                                     monkeypatch, runner):
    audio = tmp_path / "audio"
    for name, value in {"AUDIO_DIR": str(audio), "SECRET_KEY": "k", "DATA_KEY": "d",
                        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
                        "CONTENT_DIR": ""}.items():
        monkeypatch.setenv(name, value)
    # Without espeak-ng and ffmpeg on the PATH this test needs gTTS alone.
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    library = load_library()
    assert "Render them with: nsw-feedback content audio" in audio_status(audio, library)

    first = runner.invoke(main, ["content", "audio"])
    assert first.exit_code == 0, first.output
    for language in ("en", "ur", "pl"):
        prompts = len(spoken_texts(library, language)) * len(SPEEDS)
        assert f"{language}: {prompts} prompts: {prompts} new from gTTS, 0 new from espeak-ng, " \
               "0 already rendered, 0 without audio" in first.output
    assert audio_status(audio, library).startswith("Audio: all ")
    checked = runner.invoke(main, ["content", "check", "--audio", "--audio-dir", str(audio)])
    assert checked.exit_code == 0, checked.output

    requests_made = len(google.calls)
    second = runner.invoke(main, ["content", "audio"])
    assert second.exit_code == 0, second.output
    assert len(google.calls) == requests_made  # a second run makes no request
    assert "0 new from gTTS" in second.output and "new from gTTS" in second.output

    one = runner.invoke(main, ["content", "audio", "--language", "xx"])
    assert one.exit_code != 0 and "no survey is written in 'xx'" in one.output


def test_an_urdu_participant_hears_urdu_on_the_phone(tmp_path, nsw, make_participant, google):
    person = make_participant(language="ur", needs="slow-speech")
    texts = spoken_texts(nsw.surveys, "ur")
    Renderer(tmp_path, Tools(None, None), lambda line: None).render("ur", texts)
    reply = nsw.conversations.handle(person, "voice", Event("start"))
    reply = nsw.conversations.handle(person, "voice", Event("key", "1"))
    assert reply.question is not None and reply.question.text == "ان سوالوں کے جواب کون دے رہا ہے؟"
    speed = speed_for(reply.needs)
    assert speed == "slow"
    for prompt in reply.prompts:
        assert prompt.language == "ur"
        for part in spoken_parts(prompt):
            found = find_audio(tmp_path, part, prompt.language, speed)
            assert found is not None, part
            assert audio_url(found) == f"/audio/ur/{audio_key(part, 'ur', 'slow')}.mp3"


@pytest.mark.parametrize(("suffix", "content_type"), [
    (".mp3", "audio/mpeg"), (".ogg", "audio/ogg"), (".wav", "audio/wav")])
def test_audio_is_served_with_its_content_type(app, client, suffix, content_type):
    path = Path(app.config["AUDIO_DIR"]) / "ur" / (audio_key("ہاں", "ur") + suffix)
    path.parent.mkdir(parents=True)
    path.write_bytes(MP3)
    with client.get(audio_url(path)) as response:
        assert response.status_code == 200
        assert response.mimetype == content_type
        assert response.data == MP3
        assert "immutable" in response.headers["Cache-Control"]


@pytest.mark.parametrize("url", [
    "/audio/en/" + "0" * 32 + ".mp3",            # not rendered
    "/audio/en/..%2F..%2Fsecret.txt",              # encoded traversal
    "/audio/en/../secret.txt",
    "/audio/..%2F/" + "a" * 32 + ".mp3",
    "/audio/en/" + "A" * 32 + ".mp3",             # not a name the renderer makes
    "/audio/en/" + "a" * 32 + ".txt",
    "/audio/EN/" + "a" * 32 + ".mp3",
])
def test_audio_route_refuses_anything_but_a_rendered_file(app, client, url):
    folder = Path(app.config["AUDIO_DIR"])
    (folder / "en").mkdir(parents=True)
    (folder / "secret.txt").write_text("not for you")
    (folder / "en" / ("a" * 32 + ".txt")).write_text("not audio")
    with client.get(url, follow_redirects=True) as response:
        assert response.status_code == 404
        assert b"not for you" not in response.data and b"not audio" not in response.data
