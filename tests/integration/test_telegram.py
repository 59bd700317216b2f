"""The Telegram bot end to end: the real PTB Application and HTTP stack against a local
stand-in of the Bot API, in polling mode (as ``nsw-feedback bot`` runs it) and webhook
mode (updates POSTed to the Flask route), with the real database behind it.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import shutil
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from telegram import Update
from telegram.ext import ContextTypes, TypeHandler

from bot.channels.telegram import build_application, poll
from bot.engine import Event
from content.audio import audio_key
from content.loader import PACKAGE_CONTENT
from storage.exports import write_export
from storage.models import (
    AuditEntry,
    Contact,
    InboundMessage,
    Participant,
    Recording,
    Response,
    utcnow,
)
from tests.helpers import stored_answers
from web_survey import create_app
from web_survey.bootstrap import Services
from web_survey.telegram_routes import SECRET_HEADER

from .telegram_standin import BOT, SECRET, TOKEN, BotApiStandIn, Person, post_update

CHAT = 555001

# The individual baseline survey, one row a question: the button pressed, the word
# typed, the emoji sent, and what a person texting by SMS replies.
SCRIPT = [
    ("consent", "👍 Yes", "yes", "👍", "1"),
    ("who", "🤝 Me with help", "with help", "🤝", "2"),
    ("practice", "👍 Yes", "yeah", "👍", "1"),
    ("know_sw", "👍 Yes", "yes", "👍", "yes"),
    ("sw_feel", "😀 Happy", "happy", "😀", "1"),
    ("listened", "👎 No", "no", "👎", "no"),
    ("ignored", "🤷 Not sure", "not sure", "🤷", "0"),
    ("decisions", "🤝 Me and others", "me and others", "🤝", "2"),
    ("safe", "👍 Yes", "yes", "👍", "1"),
    ("home", "😐 OK", "ok", "😐", "2"),
]
STYLES = {"buttons": 1, "words": 2, "emoji": 3}
OPEN_ANSWER = "More trips out with my friends"
VOICE_NOTE = b"OggS voice note from Sam"


# ---------------------------------------------------------------- the bot, both ways


def _exit() -> None:
    raise SystemExit


class PollingBot:
    """The bot as ``nsw-feedback bot`` runs it (``poll``), on a thread of its own."""

    def __init__(self, nsw: Services, api: BotApiStandIn) -> None:
        self.api = api
        self.application = build_application(nsw.config, nsw.conversations)
        self.handled: set[int] = set()
        self.done = threading.Condition()
        self.loop: asyncio.AbstractEventLoop | None = None
        # Observers only: group 1 runs after the bot's own handler has finished.
        self.application.add_handler(TypeHandler(Update, self._handled), group=1)
        self.application.post_init = self._started
        self.thread = threading.Thread(target=poll, args=(self.application,),
                                       kwargs={"handle_signals": False})

    async def _started(self, _application: Any) -> None:
        with self.done:
            self.loop = asyncio.get_running_loop()
            self.done.notify_all()

    async def _handled(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        with self.done:
            self.handled.add(update.update_id)
            self.done.notify_all()

    def deliver(self, update: dict[str, Any]) -> None:
        """Offer the update to getUpdates and return once the bot has handled it."""
        with self.done:
            self.handled.discard(update["update_id"])
        self.api.queue(update)
        with self.done:
            assert self.done.wait_for(lambda: update["update_id"] in self.handled, timeout=20)

    def __enter__(self) -> PollingBot:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self.done:
            assert self.done.wait_for(lambda: self.loop is not None, timeout=20)
        assert self.loop is not None
        # What Ctrl-C or SIGTERM does to ``nsw-feedback bot``: SystemExit in the loop,
        # which run_polling catches at any stage and then shuts down cleanly.
        self.loop.call_soon_threadsafe(_exit)
        self.thread.join(timeout=20)
        assert not self.thread.is_alive()


@pytest.fixture
def app_config(app_config: dict[str, Any], api: BotApiStandIn) -> dict[str, Any]:
    app_config.update(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=api.url,
                      TELEGRAM_WEBHOOK_SECRET=SECRET)
    return app_config


@pytest.fixture
def webhook(app: Any, client: Any) -> Iterator[Callable[[dict[str, Any]], None]]:
    def deliver(update: dict[str, Any]) -> None:
        assert post_update(client, update).status_code == 200

    yield deliver
    app.extensions["telegram"].close()


@pytest.fixture(params=["polling", "webhook"])
def deliver(request: pytest.FixtureRequest, nsw: Services,
            api: BotApiStandIn) -> Iterator[Callable[[dict[str, Any]], None]]:
    """Hand an update to the bot and return once it is handled, in either mode."""
    if request.param == "polling":
        with PollingBot(nsw, api) as bot:
            yield bot.deliver
    else:
        yield request.getfixturevalue("webhook")


@pytest.fixture
def sam(api: BotApiStandIn, deliver: Callable[[dict[str, Any]], None]) -> Person:
    return Person(api, deliver, CHAT)


# ---------------------------------------------------------------- helpers


def invite(nsw: Services, make_participant: Callable[..., int], code: str = "CAL-0001",
           **fields: Any) -> tuple[int, str]:
    """A participant with no phone and a Telegram invitation: (id, token)."""
    participant_id = make_participant(code, phone=None, **fields)
    with nsw.uow() as uow:
        person = uow.repo.participant_by_id(participant_id)
        token = uow.repo.add_invitation(person, "baseline", "telegram").token
        uow.commit()
    return participant_id, token


def exported(nsw: Services, code: str) -> list[dict[str, object]]:
    """What an evaluator's long export holds for ``code``, without the columns that
    differ by channel or time."""
    out = io.BytesIO()
    with nsw.uow() as uow:
        write_export(uow.session, nsw.surveys, "long", out, "CAL")
    rows = [row for row in csv.DictReader(io.StringIO(out.getvalue().decode("utf-8-sig")))
            if row["participant"] == code]
    for row in rows:
        for column in ("participant", "channel", "answered_at"):
            del row[column]
    return rows


def by_sms(nsw: Services, make_participant: Callable[..., int], replies: list[str]) -> list[str]:
    """Answer as a person texting in would; return every prompt's text they got."""
    participant_id = make_participant("CAL-0900", phone="+447700900900")
    texts = []
    for event in [Event("start"), *(Event("text", r) for r in replies)]:
        reply = nsw.conversations.handle(participant_id, "sms", event)
        texts += [p.text for p in reply.prompts]
    return texts


def render_audio(folder: Path, texts: list[str], extension: str = ".ogg",
                 speed: str = "normal") -> None:
    """Cached audio for ``texts``, as ``nsw-feedback content audio`` leaves it; each
    file's bytes say which text it speaks."""
    (folder / "en").mkdir(parents=True, exist_ok=True)
    for text in texts:
        path = folder / "en" / f"{audio_key(text, 'en', speed)}{extension}"
        path.write_bytes(spoken(text, speed))


def spoken(text: str, speed: str = "normal") -> bytes:
    return f"OggS {speed}: {text}".encode()


def count(nsw: Services, model: type) -> int:
    with nsw.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model)) or 0


# ---------------------------------------------------------------- whole surveys


@pytest.mark.parametrize("style", list(STYLES))
def test_a_whole_survey_lands_exactly_as_it_would_by_sms(
        style, sam, api, nsw, app_config, make_participant):
    column = STYLES[style]
    participant_id, token = invite(nsw, make_participant)
    final_sms = {"buttons": "skip", "words": OPEN_ANSWER, "emoji": OPEN_ANSWER}[style]
    texts = by_sms(nsw, make_participant, [row[4] for row in SCRIPT] + [final_sms])
    render_audio(Path(app_config["AUDIO_DIR"]), texts)

    sam.type(f"/start {token}")
    for row in SCRIPT:
        if style == "buttons":
            sam.press(row[column])
        else:
            sam.type(row[column])
    final = {"buttons": lambda: sam.press("⏭️ Skip"), "words": lambda: sam.type(OPEN_ANSWER),
             "emoji": lambda: sam.voice(VOICE_NOTE)}[style]
    final()

    seen = sam.seen()
    # Every prompt arrived as a voice note of itself, with its words underneath; the
    # open question also says how to answer it, as it has no answer buttons.
    open_question = nsw.surveys.get("individual").question("life_better").text["en"]
    how = nsw.surveys.phrase("open_buttons", "en")
    assert [s.text for s in seen] == [f"{t}\n{how}" if t == open_question else t
                                      for t in texts]
    assert {s.method for s in seen} == {"sendVoice"}
    assert [s.audio for s in seen] == [spoken(t) for t in texts]
    assert seen[-1].text.startswith("Thank you for your answers.")
    # The evaluator's export is the same as for the person who texted.
    telegram_rows, sms_rows = exported(nsw, "CAL-0001"), exported(nsw, "CAL-0900")
    if style == "emoji":
        recording = telegram_rows.pop()
        sms_rows.pop()
        assert recording["question_id"] == "life_better"
        assert recording["value_label"] == "Voice message"
        # Stored once, encrypted, with the answer; no length, as ffprobe cannot read
        # the stand-in's few bytes.
        with nsw.uow() as uow:
            stored = uow.session.scalar(select(Recording))
            assert recording["recording"] == f"rec:{stored.key}"
            assert nsw.vault.decrypt_bytes(stored.audio) == VOICE_NOTE
            assert (stored.content_type, stored.duration) == ("audio/ogg", None)
        assert not Path(app_config["RECORDINGS_DIR"]).exists()
    assert telegram_rows == sms_rows
    assert [r["question_id"] for r in telegram_rows][:3] == ["who", "know_sw", "sw_feel"]
    assert telegram_rows[0]["who_answered"] == "supported"
    # Every button press was answered, so no spinner is left turning.
    answered = {p["callback_query_id"] for p in api.methods("answerCallbackQuery")}
    assert len(answered) == (len(SCRIPT) + 1 if style == "buttons" else 0)
    with nsw.uow() as uow:
        response = uow.repo.response(uow.repo.participant_by_id(participant_id), "baseline")
        assert response.status == "completed" and response.channel == "telegram"


def test_buttons_show_pictures_and_words_one_a_row_then_the_moves(sam, nsw, make_participant):
    _, token = invite(nsw, make_participant)
    sam.type(f"/start {token}")
    consent = sam.seen()[-1]
    assert consent.keyboard[-1] == [{"text": "🔁 Say it again", "callback_data": "again:consent"}]
    for label in ("👍 Yes", "🤝 Me with help", "👍 Yes", "👍 Yes"):
        sam.press(label)
    question = sam.seen()[-1]
    assert question.text == "How do you feel about your social worker?"
    assert question.keyboard == [
        [{"text": "😀 Happy", "callback_data": "answer:sw_feel:3"}],
        [{"text": "😐 OK", "callback_data": "answer:sw_feel:2"}],
        [{"text": "🙁 Unhappy", "callback_data": "answer:sw_feel:1"}],
        [{"text": "🤷 Not sure", "callback_data": "answer:sw_feel:9"}],
        [{"text": "🔁 Say it again", "callback_data": "again:sw_feel"},
         {"text": "⏭️ Skip", "callback_data": "skip:sw_feel"},
         {"text": "⬅️ Back", "callback_data": "back:sw_feel"}],
    ]


def test_back_and_say_it_again_buttons(sam, api, nsw, make_participant):
    participant_id, token = invite(nsw, make_participant)
    sam.type(f"/start {token}")
    for label in ("👍 Yes", "🙋 Me on my own", "👍 Yes"):
        sam.press(label)
    sam.press("🔁 Say it again")
    assert sam.seen()[-1].text == "Do you know who your social worker is?"
    sam.press("⬅️ Back")
    sam.press("⬅️ Back")
    assert sam.seen()[-1].text == "Who is answering these questions?"
    sam.press("👪 Family or friend")
    assert stored_answers(nsw, participant_id, "value") == {"who": 3}
    # The pressed messages lost their buttons, so only the newest can be pressed.
    edited = api.methods("editMessageReplyMarkup")
    assert len(edited) == 7 and all("reply_markup" not in e for e in edited)


# ---------------------------------------------------------------- state and retries


def test_restarting_the_bot_mid_survey_loses_nothing(api, nsw, make_participant):
    participant_id, token = invite(nsw, make_participant)
    with PollingBot(nsw, api) as first:
        sam = Person(api, first.deliver, CHAT)
        sam.type(f"/start {token}")
        for label in ("👍 Yes", "🤝 Me with help", "👍 Yes", "👍 Yes"):
            sam.press(label)
        waiting = sam.seen()[-1]
    assert stored_answers(nsw, participant_id, "value") == {"who": 2, "know_sw": 1}

    with PollingBot(nsw, api) as second:
        sam.deliver = second.deliver
        # The button the first bot sent still works with the new one.
        sam.press("😀 Happy", on=waiting)
        for label in ("👍 Yes", "👎 No", "👥 Other people", "👍 Yes",
                      "🙁 Unhappy", "⏭️ Skip"):
            sam.press(label)
    assert stored_answers(nsw, participant_id, "value") == {
        "who": 2, "know_sw": 1, "sw_feel": 3, "listened": 1, "ignored": 2, "decisions": 3,
        "safe": 1, "home": 1, "life_better": "skipped"}
    assert sam.seen()[-1].text.startswith("Thank you for your answers.")


def test_an_old_button_never_changes_a_later_answer(sam, api, nsw, make_participant):
    participant_id, token = invite(nsw, make_participant)
    sam.type(f"/start {token}")
    sam.press("👍 Yes")
    who = sam.seen()[-1]
    sam.press("🤝 Me with help")
    sam.press("👍 Yes")
    sam.press("👍 Yes")
    sam.press("🙋 Me on my own", on=who)
    assert stored_answers(nsw, participant_id, "value") == {"who": 2, "know_sw": 1}
    said = [s.text for s in sam.seen()[-2:]]
    assert said == ["That answer was for an earlier question. Here is the question now.",
                    "How do you feel about your social worker?"]
    assert sam.last_update["callback_query"]["id"] in {
        p["callback_query_id"] for p in api.methods("answerCallbackQuery")}


def test_a_button_we_did_not_make_is_answered_and_ignored(sam, api, nsw, make_participant):
    participant_id, token = invite(nsw, make_participant)
    sam.type(f"/start {token}")
    before = len(sam.seen())
    sam.press_data("drop:tables", sam.seen()[-1])
    assert len(sam.seen()) == before and stored_answers(nsw, participant_id, "value") == {}
    assert len(api.methods("answerCallbackQuery")) == 1


# ---------------------------------------------------------------- the webhook route


def test_a_forged_or_missing_secret_is_refused_and_changes_nothing(
        client, api, nsw, make_participant):
    _, token = invite(nsw, make_participant)
    update = {"update_id": 1, "message": {
        "message_id": 1, "date": 0, "chat": {"id": CHAT, "type": "private"},
        "from": {"id": CHAT, "is_bot": False, "first_name": "Sam"},
        "text": f"/start {token}", "entities": [{"type": "bot_command", "offset": 0,
                                                  "length": 6}]}}
    assert post_update(client, update, secret="guessed").status_code == 403
    assert post_update(client, update, secret=SECRET + "x").status_code == 403
    assert post_update(client, update, secret=None).status_code == 403
    assert api.calls == []
    assert count(nsw, InboundMessage) == 0 and count(nsw, Contact) == 0
    assert count(nsw, Response) == 0


def test_a_malformed_update_is_a_bad_request(client, app):
    assert client.post("/telegram/webhook", data="not json", headers={
        SECRET_HEADER: SECRET}).status_code == 400
    assert post_update(client, {"message": "no update id"}).status_code == 400
    app.extensions["telegram"].close()


def test_without_a_token_the_channel_is_off_with_one_log_line(app_config, caplog):
    app_config.update(TELEGRAM_BOT_TOKEN="")
    with caplog.at_level(logging.WARNING):
        app = create_app(app_config)
    lines = [r.getMessage() for r in caplog.records if "Telegram" in r.getMessage()]
    assert lines == ["Telegram is off: set TELEGRAM_BOT_TOKEN to turn it on"]
    response = post_update(app.test_client(), {"update_id": 1})
    assert response.status_code == 503
    app.extensions["nsw"].engine.dispose()


# ---------------------------------------------------------------- joining


def test_someone_without_a_link_is_told_kindly_how_to_get_one(sam, api, nsw):
    sam.type("hello")
    sam.type("/start")
    sam.type("/start not-a-real-token")
    assert [s.text for s in sam.seen()] == [
        "Hello. You need a link to answer our questions. "
        "Please ask your social care team for your link.",
    ] * 2 + ["Sorry, this link does not work. Please ask your social care team for a new link."]
    assert count(nsw, Contact) == 0 and count(nsw, Response) == 0
    with nsw.uow() as uow:
        # Like an unknown phone number, a chat linked to nobody leaves an audit line.
        assert [a.action for a in uow.session.scalars(select(AuditEntry))] == [
            "unknown_sender", "unknown_sender", "unknown_link"]
    # Said in the language of the person's Telegram app, where we have it.
    sam.user["language_code"] = "pl-PL"
    sam.type("dzień dobry")
    assert sam.seen()[-1].text == ("Dzień dobry. Do odpowiedzi potrzebny jest link. "
                                   "Poproś o link swój zespół opieki społecznej.")


def test_the_chat_id_is_stored_encrypted_and_found_by_its_keyed_hash(
        sam, nsw, make_participant):
    participant_id, token = invite(nsw, make_participant)
    sam.type(f"/start {token}")
    with nsw.uow() as uow:
        (contact,) = uow.session.scalars(select(Contact))
        assert contact.kind == "telegram" and str(CHAT).encode() not in contact.secret
        assert str(CHAT) not in contact.lookup
        assert [p.id for p in uow.repo.holders("telegram", str(CHAT))] == [participant_id]


def test_a_new_link_moves_the_chat_to_that_person(sam, nsw, make_participant):
    first, first_token = invite(nsw, make_participant, "CAL-0001")
    second, second_token = invite(nsw, make_participant, "CAL-0002")
    sam.type(f"/start {first_token}")
    sam.type(f"/start {second_token}")
    sam.press("👍 Yes")
    with nsw.uow() as uow:
        assert [p.id for p in uow.repo.holders("telegram", str(CHAT))] == [second]
        assert not uow.repo.participant_by_id(first).contacts
    assert stored_answers(nsw, first, "value") == {}
    with nsw.uow() as uow:
        response = uow.repo.response(uow.repo.participant_by_id(second), "baseline")
        assert response.consent_given is True


# ---------------------------------------------------------------- commands


def test_restart_asks_first_then_starts_the_wave_again(sam, nsw, make_participant):
    participant_id, token = invite(nsw, make_participant)
    sam.type(f"/start {token}")
    for label in ("👍 Yes", "🤝 Me with help", "👍 Yes", "👍 Yes"):
        sam.press(label)
    sam.type("/restart")
    confirm = sam.seen()[-1]
    assert confirm.text == "Do you want to start again? We will take away your answers so far."
    assert confirm.buttons == ["👍 Yes", "👎 No", "🔁 Say it again"]
    sam.press("👎 No")
    assert [s.text for s in sam.seen()[-2:]] == [
        "OK. We will carry on.", "How do you feel about your social worker?"]
    assert stored_answers(nsw, participant_id, "value") == {"who": 2, "know_sw": 1}
    sam.type("/restart")
    sam.press("👍 Yes")
    assert stored_answers(nsw, participant_id, "value") == {}
    assert sam.seen()[-2].text == "OK. We took away your answers. Let us start again."
    assert sam.seen()[-1].buttons == ["👍 Yes", "👎 No", "🤷 Not sure", "🔁 Say it again"]
    sam.press("👍 Yes")
    sam.press("🙋 Me on my own")
    assert stored_answers(nsw, participant_id, "value") == {"who": 1}


def test_help_gives_the_questions_own_help(sam, nsw, make_participant):
    _, token = invite(nsw, make_participant)
    sam.type(f"/start {token}")
    sam.press("👍 Yes")
    sam.type("/help")
    assert [s.text for s in sam.seen()[-2:]] == [
        "It is fine to have help. We just want to know who is answering.",
        "Who is answering these questions?"]


@pytest.fixture
def polish_content(tmp_path: Path, app_config: dict[str, Any]) -> dict[str, Any]:
    """The shipped surveys, with the individual one also written in Polish."""
    folder = tmp_path / "content"
    shutil.copytree(PACKAGE_CONTENT, folder)
    survey = yaml.safe_load((folder / "individual.yaml").read_text(encoding="utf-8"))
    survey["languages"] = ["en", "pl"]
    survey["consent"] = {"en": survey["consent"]["en"],
                         "pl": "Chcemy zapytać o twojego pracownika socjalnego. Czy możemy?"}
    (folder / "individual.yaml").write_text(yaml.safe_dump(survey, allow_unicode=True),
                                            encoding="utf-8")
    app_config["CONTENT_DIR"] = str(folder)
    return app_config


def test_language_offers_the_surveys_languages_and_switches(
        polish_content, sam, nsw, make_participant):
    participant_id, token = invite(nsw, make_participant)
    sam.type(f"/start {token}")
    sam.type("/language")
    menu = sam.seen()[-1]
    assert menu.text == "Choose your language."
    assert menu.buttons == ["English", "Polski"]
    sam.press("Polski")
    assert sam.seen()[-1].text == "Chcemy zapytać o twojego pracownika socjalnego. Czy możemy?"
    with nsw.uow() as uow:
        assert uow.session.get(Participant, participant_id).language == "pl"


# ---------------------------------------------------------------- audio and needs


def test_audio_falls_back_to_a_file_and_follows_needs(
        sam, api, nsw, app_config, make_participant):
    audio = Path(app_config["AUDIO_DIR"])
    consent = nsw.surveys.get("individual").consent["en"]
    render_audio(audio, [consent], extension=".mp3")
    render_audio(audio, [consent], speed="slow")
    _, first_token = invite(nsw, make_participant, "CAL-0001")
    sam.type(f"/start {first_token}")
    mp3 = sam.seen()[-1]
    assert (mp3.method, mp3.audio, mp3.text) == ("sendAudio", spoken(consent), consent)

    slow = Person(api, sam.deliver, CHAT + 1)
    _, slow_token = invite(nsw, make_participant, "CAL-0002", needs="slow-speech")
    slow.type(f"/start {slow_token}")
    assert (slow.seen()[-1].method, slow.seen()[-1].audio) == ("sendVoice",
                                                                spoken(consent, "slow"))

    quiet = Person(api, sam.deliver, CHAT + 2)
    _, quiet_token = invite(nsw, make_participant, "CAL-0003",
                            needs="no-audio;slow-speech;no-pictures")
    quiet.type(f"/start {quiet_token}")
    assert {s.method for s in quiet.seen()} == {"sendMessage"}
    assert quiet.seen()[-1].buttons == ["Yes", "No", "Not sure", "🔁 Say it again"]


def test_a_voice_note_only_answers_an_open_question(sam, nsw, app_config, make_participant):
    participant_id, token = invite(nsw, make_participant)
    sam.type(f"/start {token}")
    sam.press("👍 Yes")
    sam.voice(VOICE_NOTE)
    assert [s.text for s in sam.seen()[-2:]] == [
        "Sorry, I did not understand. Please try again.", "Who is answering these questions?"]
    assert stored_answers(nsw, participant_id, "value") == {}
    with nsw.uow() as uow:
        assert uow.session.scalar(select(Recording)) is None


# ---------------------------------------------------------------- the command line


def test_invite_prints_a_deep_link_for_each_person(cli, api, nsw, make_participant, caplog):
    make_participant("CAL-0001", phone=None)
    make_participant("CAL-0002", phone=None)
    with caplog.at_level(logging.INFO):
        result = cli("invite", "--site", "CAL", "--wave", "baseline", "--channel", "telegram")
    assert result.exit_code == 0, result.output
    assert TOKEN not in caplog.text
    lines = result.output.splitlines()
    with nsw.uow() as uow:
        tokens = {i.participant.code: i.token for i in
                  (uow.repo.invitation(line.rsplit("=", 1)[1]) for line in lines)}
    assert lines == [f"{code}\thttps://t.me/{BOT['username']}?start={tokens[code]}"
                     for code in ("CAL-0001", "CAL-0002")]
    assert [m for m, _ in api.calls] == ["getMe"]

    named = cli("invite", "--site", "CAL", "--wave", "baseline", "--channel", "telegram",
                "--participant", "CAL-0001", "--dry-run", TELEGRAM_BOT_USERNAME="@SiteBot")
    assert named.exit_code == 0 and "https://t.me/SiteBot?start=" in named.output
    assert len(api.calls) == 1


def test_remind_hands_on_the_deep_link_asking_telegram_for_the_bots_name(
        cli, api, nsw, make_participant):
    """With only the token set, remind asks Telegram for the bot's name (as invite does)
    and prints the deep link: never the web link, which a Telegram token does not open."""
    make_participant("CAL-0001", phone=None)
    with nsw.uow() as uow:
        invitation = uow.repo.add_invitation(uow.repo.participant("CAL-0001"), "baseline",
                                             "telegram")
        invitation.created_at = utcnow() - timedelta(days=4)
        token = invitation.token
        uow.commit()
    result = cli("remind", "--site", "CAL", "--dry-run")
    assert f"CAL-0001\ttelegram\thttps://t.me/{BOT['username']}?start={token}" \
        in result.output
    assert "/s/" not in result.output
    assert [m for m, _ in api.calls] == ["getMe"]


def test_invite_without_telegram_settings_says_what_to_set(cli, nsw, make_participant):
    make_participant("CAL-0001", phone=None)
    result = cli("invite", "--site", "CAL", "--wave", "baseline", "--channel", "telegram",
                 TELEGRAM_BOT_TOKEN="", expect=None)
    assert result.exit_code != 0
    assert "set TELEGRAM_BOT_USERNAME (the bot's name, for its t.me links)" in result.output


def test_bot_webhook_sets_the_webhook_with_the_secret(cli, api, nsw):
    result = cli("bot", "--webhook")
    assert result.exit_code == 0, result.output
    (call,) = api.methods("setWebhook")
    assert call["url"] == "https://feedback.example.org/telegram/webhook"
    assert call["secret_token"] == SECRET
    assert call["allowed_updates"] == ["message", "callback_query"]


def test_bot_without_a_token_logs_one_line_and_exits(cli, api, nsw, caplog):
    with caplog.at_level(logging.WARNING):
        result = cli("bot", TELEGRAM_BOT_TOKEN="")
    assert result.exit_code == 0
    assert "Telegram is off: set TELEGRAM_BOT_TOKEN to turn it on" in caplog.text
    assert api.calls == []


def test_sent_messages_never_name_the_chat_in_logs(sam, nsw, make_participant, caplog):
    _, token = invite(nsw, make_participant)
    with caplog.at_level(logging.INFO):
        sam.type(f"/start {token}")
        sam.press("👍 Yes")
    assert str(CHAT) not in caplog.text and TOKEN not in caplog.text
