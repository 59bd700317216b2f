"""Telegram: python-telegram-bot handlers over the one conversation service.

Transport only. A handler finds the person by their chat (a keyed-hash lookup of the
encrypted chat id), turns the update into an engine ``Event``, calls
``Conversations.handle`` and renders the prompts it gets back: the text, the spoken
prompt as a voice note, and the engine's choices as buttons. Progress lives in the
database, so the bot keeps no state of its own and a restart loses nothing.

The application is built by ``build_application`` (never at import) for polling
(``nsw-feedback bot``) or for the web app's webhook route (``WebhookBot``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from telegram import Audio, Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update, Voice
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.channel_table import CHANNELS, ChannelName
from bot.engine import CONSENT, RESTART, Event, EventKind, Need, Prompt, prompt_text
from bot.service import (
    Conversations,
    Reply,
    Sender,
    UnknownInvitation,
    UnknownParticipant,
    from_provider,
)
from content.audio import find_audio

log = logging.getLogger(__name__)

CHANNEL = ChannelName.TELEGRAM
CONTACT = CHANNELS[CHANNEL].contact  # a chat is known by its chat id
DISABLED = "Telegram is off: set TELEGRAM_BOT_TOKEN to turn it on"
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
MAX_CAPTION = 1024  # Telegram's limit for the text under a voice note
NAVIGATION = ("again", "skip", "back")
# Only new messages in one-to-one chats: never groups, never edits of an old answer.
PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE

Context = ContextTypes.DEFAULT_TYPE
Phrase = Callable[[str, str], str]
T = TypeVar("T")


def telegram_enabled(config: Mapping[str, Any]) -> bool:
    """True when a bot token is configured; callers log ``DISABLED`` once when not."""
    return bool(config.get("TELEGRAM_BOT_TOKEN"))


def _api_urls(config: Mapping[str, Any]) -> dict[str, str]:
    """Bot API addresses for a self-hosted server (``TELEGRAM_API_BASE_URL``), if set.

    Also quietens httpx, which logs every request's URL at INFO: a Bot API URL holds
    the bot's token. Everything that talks to Telegram gets its addresses here.
    """
    logging.getLogger("httpx").setLevel(logging.WARNING)
    base = str(config.get("TELEGRAM_API_BASE_URL") or "").rstrip("/")
    return {"base_url": f"{base}/bot", "base_file_url": f"{base}/file/bot"} if base else {}


# ---------------------------------------------------------------- rendering


@dataclass(frozen=True)
class Outgoing:
    """One Telegram message: text, buttons and, when there is one, the spoken prompt."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None
    audio: Path | None = None
    voice: bool = False  # True: an OGG/Opus voice note; False: an audio file


def choose_audio(text: str, language: str, needs: Sequence[str],
                 audio_dir: str | Path) -> tuple[Path, bool] | None:
    """The spoken version of ``text``: (file, is a voice note), or None.

    A voice note (OGG/Opus) where one was encoded, else an MP3 sent as an audio file;
    slow speech first for people who need it, then normal; none for ``no-audio``.
    """
    if Need.NO_AUDIO in needs:
        return None
    speeds = ("slow", "normal") if Need.SLOW_SPEECH in needs else ("normal",)
    for speed in speeds:
        for extension, voice in ((".ogg", True), (".mp3", False)):
            found = find_audio(audio_dir, text, language, speed, extensions=(extension,))
            if found is not None:
                return found, voice
    return None


def answer_data(question_id: str, code: int) -> str:
    """Callback data for an answer button: the question travels with it, so the engine
    can refuse a button pressed on an old message."""
    return f"answer:{question_id}:{code}"


def event_for(data: str) -> Event | None:
    """The engine event a button stands for; None for data we did not make."""
    kind, _, rest = data.partition(":")
    if kind == "answer":
        question_id, _, code = rest.partition(":")
        return Event(EventKind.BUTTON, code, question=question_id)
    if kind in NAVIGATION:
        return Event(EventKind(kind), question=rest)
    return None


def keyboard(prompt: Prompt, phrase: Phrase, pictures: bool = True) -> InlineKeyboardMarkup:
    """The engine's choices as large buttons, one a row, picture first; then "Say it
    again", and "Skip" and "Back" on survey questions (not consent or "start again?")."""
    lang = prompt.language
    rows = [[InlineKeyboardButton(
        f"{choice.emoji} {choice.label}" if pictures and choice.emoji else choice.label,
        callback_data=answer_data(prompt.question_id, choice.code))]
        for choice in prompt.choices]
    moves = ("again",) if prompt.question_id in (CONSENT, RESTART) else NAVIGATION
    rows.append([InlineKeyboardButton(phrase(f"button_{move}", lang),
                                      callback_data=f"{move}:{prompt.question_id}")
                 for move in moves])
    return InlineKeyboardMarkup(rows)


def message(text: str, language: str, needs: Sequence[str], audio_dir: str | Path,
            markup: InlineKeyboardMarkup | None = None, spoken: str = "") -> Outgoing:
    """A message showing ``text``, with the audio of ``spoken`` (default: the text)."""
    path, voice = choose_audio(spoken or text, language, needs, audio_dir) or (None, False)
    return Outgoing(text, markup, path, voice)


def render(prompt: Prompt, needs: Sequence[str], audio_dir: str | Path,
           phrase: Phrase) -> Outgoing:
    """One engine prompt as one Telegram message."""
    markup = (keyboard(prompt, phrase, Need.NO_PICTURES not in needs)
              if prompt.kind == "ask" else None)
    return message(prompt_text(prompt), prompt.language, needs, audio_dir, markup, prompt.text)


# ---------------------------------------------------------------- the handlers


def _app_language(update: Update) -> str:
    """The language of the person's Telegram app ("pl" from "pl-PL"), for the few
    things said before we know who they are; a phrase falls back to English."""
    user = update.effective_user
    return ((user.language_code if user else None) or "en").split("-")[0].lower()


class TelegramChannel:
    """The bot's handlers. Each one makes an event, runs it through one use case of the
    service (one transaction) and renders the reply."""

    def __init__(self, conversations: Conversations, config: Mapping[str, Any]) -> None:
        self.conversations = conversations
        self.audio_dir = Path(config["AUDIO_DIR"])
        # Telegram's id for each audio file already uploaded: a prompt is uploaded once
        # per process, then re-sent by id.
        self.file_ids: dict[Path, str] = {}
        # Updates whose handling failed: in webhook mode Telegram must hear a non-2xx
        # for them, so it sends them again (a retry that was stored records nothing).
        self.failed: set[int] = set()

    def register(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Add every handler to ``application``."""
        commands = {"start": self.on_start, "help": self.on_help, "stop": self.on_stop,
                    "restart": self.on_restart, "language": self.on_language}
        for name, callback in commands.items():
            application.add_handler(CommandHandler(name, callback, filters=PRIVATE))
        application.add_handler(CallbackQueryHandler(self.on_button))
        application.add_handler(MessageHandler(PRIVATE, self.on_message))
        application.add_error_handler(self.on_error)

    def phrase(self, phrase_id: str, language: str) -> str:
        """A shared phrase (every survey shares one phrases file)."""
        return self.conversations.surveys.phrase(phrase_id, language)

    # -- sending

    async def _deliver(self, bot: Bot, chat_id: int, out: Outgoing) -> None:
        fits = len(out.text) <= MAX_CAPTION
        if out.audio is not None:
            media: Any = self.file_ids.get(out.audio, out.audio)
            caption = out.text if fits else None
            keyboard = out.keyboard if fits else None
            uploaded: Voice | Audio | None
            if out.voice:
                sent = await bot.send_voice(chat_id, media, caption=caption,
                                            reply_markup=keyboard)
                uploaded = sent.voice
            else:
                sent = await bot.send_audio(chat_id, media, caption=caption,
                                            reply_markup=keyboard)
                uploaded = sent.audio
            if uploaded is not None:
                self.file_ids[out.audio] = uploaded.file_id
            if fits:
                return
        await bot.send_message(chat_id, out.text, reply_markup=out.keyboard)

    async def _send(self, bot: Bot, chat_id: int, prompts: Sequence[Prompt],
                    needs: Sequence[str] = ()) -> None:
        for prompt in prompts:
            await self._deliver(bot, chat_id, render(prompt, needs, self.audio_dir, self.phrase))

    async def _say(self, bot: Bot, chat_id: int, phrase_id: str, language: str = "en") -> None:
        await self._send(bot, chat_id, [Prompt("say", self.phrase(phrase_id, language),
                                               language)])

    async def _run(self, update: Update, context: Context,
                   use_case: Callable[..., Reply], *args: Any,
                   unknown: str = "link_needed") -> Reply | None:
        """Run one use case of the service for this update, in a worker thread so the
        event loop keeps serving others, and send its reply. A repeated update records
        and sends nothing; a chat linked to nobody is told how to get a link."""
        chat = update.effective_chat
        assert chat is not None
        try:
            reply = await asyncio.to_thread(use_case, *args)
        except (UnknownParticipant, UnknownInvitation):
            await self._say(context.bot, chat.id, unknown, _app_language(update))
            return None
        if not reply.duplicate:
            await self._send(context.bot, chat.id, reply.prompts, reply.needs)
        return reply

    def _who(self, update: Update) -> Sender:
        assert update.effective_chat is not None
        return Sender(CONTACT, str(update.effective_chat.id))

    @staticmethod
    def _inbound(update: Update, context: Context) -> tuple[str, str]:
        return (CHANNEL, f"{context.bot.id}:{update.update_id}")

    async def _event(self, update: Update, context: Context, event: Event) -> Reply | None:
        return await self._run(update, context, self.conversations.handle, self._who(update),
                               CHANNEL, event, self._inbound(update, context))

    # -- commands

    async def on_start(self, update: Update, context: Context) -> None:
        """``/start <token>`` links the chat; ``/start`` alone carries on (or explains).
        Either is the person asking to take part, so it opts them back in."""
        token = context.args[0] if context.args else ""
        if token:
            await self._run(update, context, self.conversations.link_chat, token,
                            self._who(update), CHANNEL, self._inbound(update, context),
                            unknown="link_broken")
        else:
            await self._event(update, context, Event(EventKind.OPT_IN))

    async def on_help(self, update: Update, context: Context) -> None:
        """``/help``: the engine's help for the question the person is on."""
        await self._event(update, context, Event(EventKind.HELP))

    async def on_restart(self, update: Update, context: Context) -> None:
        """``/restart``: the engine asks "start again?" before it deletes anything."""
        await self._event(update, context, Event(EventKind.RESTART))

    async def on_stop(self, update: Update, context: Context) -> None:
        """``/stop``: opt out of every question, and say so."""
        await self._event(update, context, Event(EventKind.OPT_OUT))

    async def on_language(self, update: Update, context: Context) -> None:
        """``/language``: a button for each language the person's survey is written in."""
        chat = update.effective_chat
        assert chat is not None
        try:
            language, languages = await asyncio.to_thread(self.conversations.languages,
                                                          self._who(update))
        except UnknownParticipant:
            await self._say(context.bot, chat.id, "link_needed", _app_language(update))
            return
        buttons = [[InlineKeyboardButton(self.phrase("language_name", code),
                                         callback_data=f"language:{code}")]
                   for code in languages]
        menu = message(self.phrase("choose_language", language), language, (),
                       self.audio_dir, InlineKeyboardMarkup(buttons))
        await self._deliver(context.bot, chat.id, menu)

    # -- buttons and messages

    async def on_button(self, update: Update, context: Context) -> None:
        """A button: answered at once (Telegram shows a spinner until then), then run."""
        query = update.callback_query
        assert query is not None
        with suppress(BadRequest):  # a retried update's query may be too old to answer
            await query.answer()
        data = query.data or ""
        if data.startswith("language:"):
            reply = await self._run(update, context, self.conversations.set_language,
                                    self._who(update), data.partition(":")[2], CHANNEL,
                                    self._inbound(update, context))
        else:
            event = event_for(data)
            if event is None:
                log.info("Telegram button with unknown data ignored")
                return
            reply = await self._event(update, context, event)
        if reply is not None:
            # The pressed message's buttons go, so the chat shows one set to press.
            with suppress(BadRequest):
                await query.edit_message_reply_markup(None)

    async def on_message(self, update: Update, context: Context) -> None:
        """Typed words, emoji and stickers are text for the engine; a voice note is a
        recording (kept only if the engine takes it: open questions)."""
        message = update.message
        assert message is not None
        if message.voice is None:
            sticker = message.sticker.emoji if message.sticker else None
            text = message.text or message.caption or sticker or ""
            await self._event(update, context, Event(EventKind.TEXT, text))
            return
        # Into memory, then stored encrypted with its answer by the service; a voice
        # note at a question that takes none is kept nowhere.
        file = await context.bot.get_file(message.voice.file_id)
        data = bytes(await file.download_as_bytearray())
        # Its length is ffprobe's: Telegram's own is changing type (PTB 22.2 warns).
        audio = await asyncio.to_thread(from_provider, data,
                                        message.voice.mime_type or "audio/ogg", None)
        await self._run(update, context, self.conversations.record, self._who(update),
                        CHANNEL, audio, "", self._inbound(update, context))

    async def on_error(self, update: object, context: Context) -> None:
        """Log the failure (never the chat) and tell the person to try again."""
        if not isinstance(update, Update):
            # Polling could not reach Telegram; PTB retries with a growing pause.
            log.warning("Telegram cannot be reached: %s", context.error)
            return
        log.error("Telegram update %s failed", update.update_id, exc_info=context.error)
        self.failed.add(update.update_id)
        if update.effective_chat is not None:
            with suppress(TelegramError):
                await context.bot.send_message(
                    update.effective_chat.id,
                    self.phrase("something_wrong", _app_language(update)))


# ---------------------------------------------------------------- running the bot


def build_application(config: Mapping[str, Any], conversations: Conversations,
                      polling: bool = True) -> Application[Any, Any, Any, Any, Any, Any]:
    """The bot's PTB application over ``conversations``, on ``TELEGRAM_API_BASE_URL`` when
    set. ``polling=False`` builds it without an updater, for the web app's webhook route.
    RuntimeError when no bot token is configured (check ``telegram_enabled`` first).
    """
    if not telegram_enabled(config):
        raise RuntimeError(DISABLED)
    builder = Application.builder().token(config["TELEGRAM_BOT_TOKEN"])
    urls = _api_urls(config)
    if urls:
        builder = builder.base_url(urls["base_url"]).base_file_url(urls["base_file_url"])
    if not polling:
        builder = builder.updater(None)
    application = builder.build()
    channel = TelegramChannel(conversations, config)
    channel.register(application)
    application.bot_data["channel"] = channel
    return application


def poll(application: Application[Any, Any, Any, Any, Any, Any], *,
         handle_signals: bool = True) -> None:
    """Run the bot by long polling until Ctrl-C (or ``application.stop_running()``).

    ``handle_signals=False`` when not on the main thread, where signals cannot be caught.
    """
    options: dict[str, Any] = {} if handle_signals else {"stop_signals": None}
    application.run_polling(allowed_updates=ALLOWED_UPDATES, **options)


def set_webhook(application: Application[Any, Any, Any, Any, Any, Any], url: str,
                secret: str) -> None:
    """Tell Telegram to POST updates to ``url`` with ``secret`` in a header."""

    async def call() -> None:
        async with application.bot as bot:
            await bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)

    asyncio.run(call())


def bot_username(config: Mapping[str, Any]) -> str | None:
    """The bot's username: ``TELEGRAM_BOT_USERNAME``, else asked of the Bot API (getMe);
    None when neither is configured."""
    configured = str(config.get("TELEGRAM_BOT_USERNAME") or "").lstrip("@")
    if configured or not telegram_enabled(config):
        return configured or None

    token = config["TELEGRAM_BOT_TOKEN"]
    urls = _api_urls(config)

    async def ask() -> str:
        bot = (Bot(token, base_url=urls["base_url"], base_file_url=urls["base_file_url"])
               if urls else Bot(token))
        async with bot:
            return bot.username

    return asyncio.run(ask())


class UpdateNotHandled(RuntimeError):
    """An update whose handling failed (the database away, say): nothing may have been
    stored, so the webhook must not acknowledge it."""


class WebhookBot:
    """The bot inside a WSGI web app: an event loop of its own in a background thread.

    Built on the first update, not at start-up, so the web app runs even when Telegram
    cannot be reached. ``process`` returns once the update is handled and stored, so
    Telegram is told "received" only after the answer is safe.
    """

    def __init__(self, config: Mapping[str, Any], conversations: Conversations,
                 timeout: float = 60.0) -> None:
        self.config = config
        self.conversations = conversations
        self.timeout = timeout
        self._lock = threading.Lock()
        self._application: Application[Any, Any, Any, Any, Any, Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(self.timeout)

    def _started(self) -> Application[Any, Any, Any, Any, Any, Any]:
        with self._lock:
            if self._application is None:
                application = build_application(self.config, self.conversations,
                                                polling=False)
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=self._loop.run_forever,
                                                name="telegram-webhook", daemon=True)
                self._thread.start()
                try:
                    self._run(application.initialize())
                except BaseException:
                    self._stop_loop()
                    raise
                self._application = application
            return self._application

    def process(self, data: Mapping[str, Any]) -> None:
        """Handle one update as Telegram posted it. Malformed data raises ValueError."""
        application = self._started()
        try:
            update = Update.de_json(dict(data), application.bot)
        except (AttributeError, KeyError, TypeError) as error:
            raise ValueError(f"not a Telegram update: {type(error).__name__}") from error
        self._run(application.process_update(update))
        channel: TelegramChannel = application.bot_data["channel"]
        if update.update_id in channel.failed:
            channel.failed.discard(update.update_id)
            raise UpdateNotHandled(update.update_id)

    def close(self) -> None:
        """Shut the bot down (its HTTP connections and its thread)."""
        with self._lock:
            if self._application is not None:
                self._run(self._application.shutdown())
                self._application = None
                self._stop_loop()

    def _stop_loop(self) -> None:
        assert self._loop is not None and self._thread is not None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
        self._loop = self._thread = None
