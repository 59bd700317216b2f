"""Phone surveys over Twilio: the real Flask routes, signed requests, TwiML parsed as XML."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
import requests
import responses
from sqlalchemy import func, select

from bot.channels.voice import SAY_VOICES
from content.audio import SPEEDS, Renderer, Tools, audio_key, spoken_texts
from storage.models import InboundMessage, Response, SafeguardingFlag
from tests.conftest import PUBLIC_BASE_URL
from tests.helpers import stored_answers

from .twilio_fakes import (
    MP3,
    Call,
    sid,
    sign,
    snapshot,
    spoken,
    twilio_settings,
)

KEYS = ["1", "1", "1", "1", "1", "1", "2", "0", "1", "2"]
SPEECH = ["Yes.", "Just me.", "No", "yes", "Happy!", "yes", "no", "Not sure", "yes",
          "okay"]
CODE = "CAL-0001"  # make_participant's
STORED = {"who": 1, "know_sw": 1, "sw_feel": 3, "listened": 1, "ignored": 2,
          "decisions": 9, "safe": 1, "home": 2}


@pytest.fixture
def app_config(app_config, stand_in):
    app_config.update(twilio_settings(stand_in.url))
    return app_config


def phrase(nsw, phrase_id, **values):
    return nsw.surveys.phrase(phrase_id, "en", **values)


def test_a_whole_survey_by_keypad_is_stored(client, nsw, make_participant, stand_in,
                                            app_config):
    make_participant()
    call = Call(client)
    root = call.start()
    assert spoken(root)[0] == phrase(nsw, "greeting")
    children = [child.tag for child in root]
    assert children == ["Say", "Gather", "Redirect"]
    gather = root.find("Gather")
    assert gather.get("input") == "dtmf speech"
    assert (gather.get("numDigits"), gather.get("finishOnKey")) == ("1", "")
    assert gather.get("language") == "en-GB"
    assert root.find("Redirect").text == gather.get("action")
    assert [s.get("language") for s in gather.iter("Say")] == ["en-GB", "en-GB"]
    assert spoken(gather)[1] == "Press 1: Yes. Press 2: No. Press 0: Not sure. Star: hear again."

    for key in KEYS:
        root = call.act(Digits=key)
    assert spoken(root)[-1].startswith("After the sound, say your answer.")
    record = root.find("Record")
    assert (record.get("maxLength"), record.get("finishOnKey")) == ("120", "#")

    recording = sid("RE")
    stand_in.recordings[recording] = MP3
    root = call.act(RecordingSid=recording, RecordingDuration="7", Digits="#",
                    RecordingUrl=f"https://api.twilio.com/2010-04-01/Accounts/x/Recordings/"
                                 f"{recording}")
    assert spoken(root) == [phrase(nsw, "closing")]
    assert root[-1].tag == "Hangup"

    answers = stored_answers(nsw, CODE)
    assert {q: a.value_code for q, a in answers.items() if q != "life_better"} == STORED
    assert answers["life_better"].recording == f"{recording}.mp3"
    saved = Path(app_config["RECORDINGS_DIR"]) / f"{recording}.mp3"
    assert saved.read_bytes() == MP3
    assert stand_in.deleted() == [recording]
    assert {a.channel for a in answers.values()} == {"voice"}
    with nsw.uow() as uow:
        assert uow.session.scalar(select(Response.status)) == "completed"


def test_a_whole_survey_by_speech_is_stored(client, nsw, make_participant, stand_in):
    make_participant()
    call = Call(client)
    call.start()
    for words in SPEECH:
        call.act(SpeechResult=words, Confidence="0.9")
    recording = sid("RE")
    stand_in.recordings[recording] = MP3
    root = call.act(RecordingSid=recording, RecordingDuration="3")
    assert root[-1].tag == "Hangup"
    answers = stored_answers(nsw, CODE)
    assert {q: a.value_code for q, a in answers.items() if q != "life_better"} == STORED
    assert answers["who"].raw == "Just me."


def test_silence_asks_again_once_then_moves_on(client, nsw, make_participant):
    make_participant()
    call = Call(client)
    call.start()
    call.act(Digits="1")  # consent: "who is answering" is waiting
    root = call.wait()
    assert spoken(root)[0] == phrase(nsw, "silence")
    assert spoken(root)[1] == "Who is answering these questions?"
    root = call.wait()
    assert spoken(root)[0] == phrase(nsw, "moving_on")
    assert spoken(root)[1].startswith("Let us try one first.")
    assert stored_answers(nsw, CODE)["who"].status == "no_answer"


def test_star_repeats_and_hash_skips(client, nsw, make_participant):
    make_participant()
    call = Call(client)
    call.start()
    call.act(Digits="1")
    root = call.act(Digits="*")
    assert spoken(root)[0] == "Who is answering these questions?"
    root = call.act(Digits="#")
    assert spoken(root)[0] == phrase(nsw, "skipped")
    assert stored_answers(nsw, CODE)["who"].status == "skipped"


def test_silence_after_a_gather_is_the_same_turn_as_its_answer(client, nsw, make_participant):
    # That a retried turn stores nothing twice and gets the same TwiML, and that a wrong
    # key is asked again, is the contract's (tests/contract). A call also comes back
    # through the Redirect when the caller says nothing, to the same turn: after an
    # answer, that changes nothing either.
    make_participant()
    call = Call(client)
    call.start()
    for key in KEYS[:3]:
        call.act(Digits=key)
    url = call.next_url()
    first = call.post(url, Digits="1")
    before = snapshot(nsw)
    assert call.root.find("Redirect").text == url
    assert call.post(url).get_data() == first.get_data()
    assert snapshot(nsw) == before
    assert set(stored_answers(nsw, CODE)) == {"who", "know_sw"}


def test_a_dropped_call_carries_on_at_the_same_question(client, nsw, make_participant):
    make_participant()
    call = Call(client)
    call.start()
    for key in KEYS[:5]:
        call.act(Digits=key)
    # The line drops. They call back later.
    root = Call(client).start()
    assert spoken(root)[0] == phrase(nsw, "welcome_back_at", number=4, total=9)
    assert spoken(root)[1] == "Do people listen to you about your care?"


def test_our_own_call_finds_the_person_by_the_number_we_called(client, nsw,
                                                                make_participant):
    make_participant()
    root = Call(client, outbound=True).start()
    assert spoken(root)[0] == phrase(nsw, "greeting")


def test_an_unknown_caller_hears_who_to_ask_and_the_call_ends(client, nsw):
    before = snapshot(nsw)
    root = Call(client, phone="+447700900555").start()
    assert spoken(root) == [phrase(nsw, "unknown_sender")]
    assert root[-1].tag == "Hangup"
    after = snapshot(nsw)
    assert {t for t in after if after[t] != before[t]} == {"audit_log"}


def test_a_forged_or_replayed_call_request_is_refused(client, nsw, make_participant):
    make_participant()
    call = Call(client)
    call.start()
    url = call.next_url()[len(PUBLIC_BASE_URL):]
    before = snapshot(nsw)
    form = {**call.base, "Digits": "1"}
    other_turn = sign(PUBLIC_BASE_URL + url.replace("n=1", "n=2"), form)
    other_form = sign(PUBLIC_BASE_URL + url, {**form, "Digits": "2"})
    for signature in ("", "bm90IGEgc2lnbmF0dXJl", other_turn, other_form):
        response = client.post(url, data=form, headers={"X-Twilio-Signature": signature})
        assert response.status_code == 403
    assert snapshot(nsw) == before


def test_cached_audio_is_played_and_the_rest_is_said(client, nsw, make_participant,
                                                     app_config):
    make_participant()
    greeting = phrase(nsw, "greeting")
    folder = Path(app_config["AUDIO_DIR"]) / "en"
    folder.mkdir(parents=True)
    (folder / f"{audio_key(greeting, 'en')}.mp3").write_bytes(MP3)
    root = Call(client).start()
    assert root[0].tag == "Play"
    assert root[0].text == f"{PUBLIC_BASE_URL}/audio/en/{audio_key(greeting, 'en')}.mp3"
    assert spoken(root)[0].startswith("We want to ask you about your social worker.")


def test_slow_speech_plays_slow_audio_or_says_it_slowly(client, nsw, make_participant,
                                                        app_config):
    make_participant(needs="slow-speech")
    greeting = phrase(nsw, "greeting")
    folder = Path(app_config["AUDIO_DIR"]) / "en"
    folder.mkdir(parents=True)
    (folder / f"{audio_key(greeting, 'en', 'slow')}.mp3").write_bytes(MP3)
    (folder / f"{audio_key(greeting, 'en')}.mp3").write_bytes(MP3)
    root = Call(client).start()
    assert root[0].text.endswith(f"/audio/en/{audio_key(greeting, 'en', 'slow')}.mp3")
    prosody = [p.get("rate") for p in root.iter("prosody")]
    assert prosody and set(prosody) == {"slow"}


def test_a_recording_that_cannot_be_fetched_keeps_its_reference(client, nsw, make_participant,
                                                                stand_in, caplog):
    make_participant()
    call = Call(client)
    call.start()
    for key in KEYS:
        call.act(Digits=key)
    recording = sid("RE")  # the stand-in does not have it
    with caplog.at_level(logging.ERROR):
        root = call.act(RecordingSid=recording, RecordingDuration="4")
    assert root[-1].tag == "Hangup"
    assert stored_answers(nsw, CODE)["life_better"].recording == f"twilio:{recording}"
    assert any("RECORDING NOT SAVED" in r.getMessage() and recording in r.getMessage()
               for r in caplog.records)
    # Nobody has heard it yet: it waits in the review queue (it has no words to check).
    with nsw.uow() as uow:
        flag = uow.session.scalar(select(SafeguardingFlag))
        assert flag is not None and flag.question_id == "life_better"
        assert (flag.text, flag.matched) == (f"twilio:{recording}", "recording: listen to it")
    assert stand_in.deleted() == []


def test_every_turn_is_one_inbound_row(client, nsw, make_participant):
    make_participant()
    call = Call(client)
    call.start()
    call.act(Digits="1")
    call.wait()
    with nsw.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(InboundMessage)) == 3


# What an offline render (espeak-ng, then ffmpeg) leaves for each prompt: a WAV to play
# and an OGG/Opus voice note for Telegram. Only the first bytes matter here.
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(64)
OGG = b"OggS" + bytes(64)
PLAYABLE = {"audio/mpeg", "audio/wav"}  # what Twilio's <Play> documents (and we render)


def _render_offline(app_config, texts, language):
    folder = Path(app_config["AUDIO_DIR"]) / language
    folder.mkdir(parents=True, exist_ok=True)
    for text in texts:
        for speed in SPEEDS:
            stem = folder / audio_key(text, language, speed)
            stem.with_suffix(".wav").write_bytes(WAV)
            stem.with_suffix(".ogg").write_bytes(OGG)


def _plays(root):
    return [play.text for play in root.iter("Play")]


def test_every_play_of_a_whole_call_is_audio_twilio_plays(client, nsw, make_participant,
                                                          app_config, stand_in):
    make_participant()
    _render_offline(app_config, spoken_texts(nsw.surveys, "en"), "en")
    call = Call(client)
    urls = _plays(call.start())
    assert spoken(call.root) == []  # every prompt has a file: nothing falls back to <Say>
    for key in KEYS:
        urls += _plays(call.act(Digits=key))
        assert spoken(call.root) == []
    recording = sid("RE")
    stand_in.recordings[recording] = MP3
    urls += _plays(call.act(RecordingSid=recording, RecordingDuration="3"))
    assert call.root[-1].tag == "Hangup"
    assert len(urls) > 2 * len(KEYS)
    for url in urls:
        assert url.startswith(f"{PUBLIC_BASE_URL}/audio/en/")
        with client.get(url[len(PUBLIC_BASE_URL):]) as response:
            assert response.status_code == 200, url
            assert response.mimetype in PLAYABLE, url
            assert response.data == WAV


def test_slow_speech_plays_the_slow_wav_never_the_voice_note(client, nsw, make_participant,
                                                             app_config):
    make_participant(needs="slow-speech")
    greeting = phrase(nsw, "greeting")
    _render_offline(app_config, [greeting], "en")
    root = Call(client).start()
    assert root[0].text.endswith(f"/audio/en/{audio_key(greeting, 'en', 'slow')}.wav")


@pytest.mark.parametrize(("language", "locale", "voice"), [
    ("en", "en-GB", "Polly.Amy"), ("pl", "pl-PL", "Polly.Ewa")])
def test_without_audio_every_say_names_a_locale_and_a_voice(client, nsw, make_participant,
                                                            language, locale, voice):
    assert SAY_VOICES[language] == (locale, voice)
    make_participant(language=language)
    call = Call(client)
    roots = [call.start()]
    for key in KEYS[:4]:
        roots.append(call.act(Digits=key))
    for root in roots:
        says = list(root.iter("Say"))
        assert says
        assert {(say.get("language"), say.get("voice")) for say in says} == {(locale, voice)}
        gather = root.find("Gather")
        assert gather is None or gather.get("language") == locale


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_urdu_with_no_audio_is_rendered_then_and_there_and_played_never_said(
        client, nsw, make_participant):
    """Twilio's voice table has no Urdu voice, so an Urdu <Say> would be an error on the
    call: a prompt with no file is made by espeak-ng as it is needed and played as WAV."""
    assert SAY_VOICES["ur"] == ("ur-IN", None)
    make_participant(language="ur", needs="slow-speech")
    call = Call(client)
    roots = [call.start(), call.act(Digits=KEYS[0])]
    plays = [play.text for root in roots for play in root.iter("Play")]
    assert plays and not [say for root in roots for say in root.iter("Say")]
    for url in plays:
        assert "/audio/ur/" in url and url.endswith(".wav")
        with client.get(url[len(PUBLIC_BASE_URL):]) as response:
            assert response.status_code == 200 and response.mimetype == "audio/wav"
    assert {root.find("Gather").get("language") for root in roots} == {"ur-IN"}
    greeting = nsw.surveys.phrase("greeting", "ur")
    assert plays[0].endswith(f"/audio/ur/{audio_key(greeting, 'ur', 'slow')}.wav")


def test_urdu_with_no_audio_and_no_espeak_is_never_said_and_is_logged(
        client, nsw, make_participant, monkeypatch, caplog):
    monkeypatch.setattr("content.audio.shutil.which", lambda name: None)
    make_participant(language="ur")
    with caplog.at_level(logging.ERROR, logger="bot.channels.voice"):
        root = Call(client).start()
    assert root.find(".//Say") is None and root.find(".//Play") is None
    assert root.find("Gather").get("language") == "ur-IN"
    assert "run nsw-feedback content audio --language ur" in caplog.text


GOOGLE = "https://translate.google.com/_/TranslateWebserverUi/data/batchexecute"


@pytest.mark.skipif(shutil.which("espeak-ng") is None or Tools.find().ffmpeg is None,
                    reason="espeak-ng and ffmpeg with Opus are not installed")
def test_a_call_plays_the_wav_espeak_made_offline_not_its_voice_note(client, nsw, make_participant,
                                                                     app_config):
    make_participant()
    greeting = phrase(nsw, "greeting")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as offline:
        offline.add(responses.POST, GOOGLE, body=requests.ConnectionError("no route to host"))
        done = Renderer(app_config["AUDIO_DIR"], Tools.find(), lambda line: None).render(
            "en", [greeting])
    assert (done.espeak, done.voice_notes) == (2, 2)  # a WAV and an OGG at each speed
    play = Call(client).start().find("Play").text
    assert play.endswith(f"/audio/en/{audio_key(greeting, 'en')}.wav")
    with client.get(play[len(PUBLIC_BASE_URL):]) as response:
        assert response.mimetype == "audio/wav"
        assert response.data[:4] == b"RIFF"


def test_a_call_to_someone_who_answers_with_a_supporter_says_so_first(client, nsw,
                                                                       make_participant):
    make_participant(needs="supporter")
    root = Call(client).start()
    assert spoken(root)[0] == phrase(nsw, "invite_supporter")
    assert spoken(root)[1] == phrase(nsw, "greeting")
