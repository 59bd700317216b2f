"""A local stand-in for the Telegram Bot API, and a person chatting through it.

The real python-telegram-bot ``Application`` talks to this server over loopback (its
``base_url`` points here), with its real HTTP stack. The server records every call the
bot makes (sendMessage, sendVoice, sendAudio, answerCallbackQuery,
editMessageReplyMarkup, ...), hands out queued updates through ``getUpdates`` for
polling, and serves the files of voice notes people send.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from web_survey.telegram_routes import SECRET_HEADER

TOKEN = "123456:test-token-for-the-stand-in"
SECRET = "webhook-secret_for-tests"
BOT = {"id": 123456, "is_bot": True, "first_name": "Feedback", "username": "nsw_feedback_test_bot",
       "can_join_groups": False, "can_read_all_group_messages": False,
       "supports_inline_queries": False}
SENDS = ("sendMessage", "sendVoice", "sendAudio")


@dataclass
class Sent:
    """One message the bot sent: what the person sees and hears."""

    method: str
    chat_id: int
    message_id: int
    text: str
    keyboard: list[list[dict[str, str]]] = field(default_factory=list)
    audio: bytes = b""

    @property
    def buttons(self) -> list[str]:
        return [button["text"] for row in self.keyboard for button in row]


def post_update(client: Any, update: dict[str, Any], secret: str | None = SECRET) -> Any:
    """POST ``update`` to the webhook route as Telegram does, with the secret header."""
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    return client.post("/telegram/webhook", json=update, headers=headers)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any) -> None:
        """Calls are in ``BotApiStandIn.calls``; a line each would only hide failures."""


class BotApiStandIn:
    """The Bot API on 127.0.0.1, recording calls. Use as a context manager."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.sent: list[Sent] = []
        self.files: dict[str, bytes] = {}  # file_id -> content, uploaded or sent by people
        self._updates: list[dict[str, Any]] = []
        self._ids = itertools.count(1000)
        self._changed = threading.Condition()
        self._closing = False
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True,
                                   request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self) -> BotApiStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    # -- what tests use

    def queue(self, update: dict[str, Any]) -> None:
        """Offer ``update`` to the next getUpdates (polling)."""
        with self._changed:
            self._updates.append(update)
            self._changed.notify_all()

    def methods(self, name: str) -> list[dict[str, Any]]:
        """The parameters of every call to Bot API method ``name``."""
        return [params for method, params in self.calls if method == name]

    def wait_for(self, condition: Callable[[], bool], limit: float = 20.0) -> None:
        """Wait (bounded) until ``condition()`` holds; it is checked on every call."""
        with self._changed:
            if not self._changed.wait_for(condition, timeout=limit):
                raise AssertionError("the bot did not get there")

    def next_id(self) -> int:
        return next(self._ids)

    # -- the server

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        file_prefix = f"/file/bot{TOKEN}/"
        if request.path.startswith(file_prefix):
            file_id = request.path[len(file_prefix):].split("/")[-1].rsplit(".", 1)[0]
            return Response(self.files[file_id])(environ, start_response)
        prefix = f"/bot{TOKEN}/"
        if not request.path.startswith(prefix):
            body = {"ok": False, "error_code": 401, "description": "Unauthorized"}
            return Response(json.dumps(body), 401, mimetype="application/json")(
                environ, start_response)
        method = request.path[len(prefix):]
        params: dict[str, Any] = request.form.to_dict()
        for name in ("reply_markup", "allowed_updates"):
            if name in params:
                params[name] = json.loads(params[name])
        uploads = {name: upload.read() for name, upload in request.files.items()}
        request.close()
        result = self._answer(method, params, uploads)
        with self._changed:
            self.calls.append((method, params))
            self._changed.notify_all()
        return Response(json.dumps({"ok": True, "result": result}),
                        mimetype="application/json")(environ, start_response)

    def _answer(self, method: str, params: dict[str, Any], uploads: dict[str, bytes]) -> Any:
        if method == "getMe":
            return BOT
        if method == "getUpdates":
            return self._get_updates(params)
        if method in SENDS:
            return self._send(method, params, uploads)
        if method == "editMessageReplyMarkup":
            return {"message_id": int(params["message_id"]), "date": 0,
                    "chat": {"id": int(params["chat_id"]), "type": "private"}}
        if method == "getFile":
            file_id = params["file_id"]
            return {"file_id": file_id, "file_unique_id": f"u-{file_id}",
                    "file_size": len(self.files[file_id]), "file_path": f"voice/{file_id}.oga"}
        return True  # answerCallbackQuery, setWebhook, deleteWebhook, ...

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        wait = float(params.get("timeout") or 0)
        with self._changed:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self._changed.wait_for(lambda: self._updates or self._closing, timeout=wait)
            return list(self._updates)

    def _send(self, method: str, params: dict[str, Any], uploads: dict[str, bytes]) -> Any:
        chat_id = int(params["chat_id"])
        message_id = self.next_id()
        message: dict[str, Any] = {"message_id": message_id, "date": 0,
                                   "chat": {"id": chat_id, "type": "private"}}
        media = b""
        if method == "sendMessage":
            message["text"] = params["text"]
        else:
            field_name = "voice" if method == "sendVoice" else "audio"
            file_id = params.get(field_name, "")
            if field_name in uploads:
                file_id = f"{field_name}-{message_id}"
                self.files[file_id] = uploads[field_name]
            media = self.files[file_id]
            message[field_name] = {"file_id": file_id, "file_unique_id": f"u-{file_id}",
                                   "duration": 1}
            if params.get("caption"):
                message["caption"] = params["caption"]
        keyboard = (params.get("reply_markup") or {}).get("inline_keyboard", [])
        if keyboard:
            message["reply_markup"] = params["reply_markup"]
        self.sent.append(Sent(method, chat_id, message_id,
                              params.get("text") or params.get("caption") or "", keyboard, media))
        return message


class Person:
    """Someone in a private chat with the bot. ``deliver`` hands an update to the bot
    (by getUpdates or by the webhook route) and returns once it has been handled."""

    def __init__(self, api: BotApiStandIn, deliver: Callable[[dict[str, Any]], None],
                 chat_id: int) -> None:
        self.api = api
        self.deliver = deliver
        self.chat_id = chat_id
        self.user = {"id": chat_id, "is_bot": False, "first_name": "Sam"}
        self.last_update: dict[str, Any] = {}

    def _message(self, **content: Any) -> dict[str, Any]:
        return {"message_id": self.api.next_id(), "date": 0, "from": self.user,
                "chat": {"id": self.chat_id, "type": "private", "first_name": "Sam"},
                **content}

    def send(self, update: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": self.api.next_id(), **update}
        self.last_update = update
        self.deliver(update)
        return update

    def type(self, text: str) -> dict[str, Any]:
        """Type a message (a /command is marked as one, as Telegram does)."""
        entities = ([{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
                    if text.startswith("/") else [])
        return self.send({"message": self._message(text=text, entities=entities)})

    def voice(self, content: bytes) -> dict[str, Any]:
        """Record and send a voice note."""
        file_id = f"people-voice-{self.api.next_id()}"
        self.api.files[file_id] = content
        return self.send({"message": self._message(
            voice={"file_id": file_id, "file_unique_id": f"u-{file_id}", "duration": 3,
                   "mime_type": "audio/ogg"})})

    def seen(self) -> list[Sent]:
        """Every message this person got, in order."""
        return [s for s in self.api.sent if s.chat_id == self.chat_id]

    def press(self, label: str, on: Sent | None = None) -> dict[str, Any]:
        """Press the button showing ``label`` on the latest message with buttons (or ``on``)."""
        message = on or next(s for s in reversed(self.seen()) if s.keyboard)
        button = next((b for row in message.keyboard for b in row if b["text"] == label), None)
        assert button is not None, f"no button {label!r} in {message.buttons}"
        return self.press_data(button["callback_data"], message)

    def press_data(self, data: str, message: Sent) -> dict[str, Any]:
        """Send a button press with ``data`` from ``message``, as a Telegram client does."""
        pressed = {"message_id": message.message_id, "date": 0,
                   "chat": {"id": self.chat_id, "type": "private"}, "text": message.text}
        return self.send({"callback_query": {
            "id": f"query-{self.api.next_id()}", "from": self.user, "chat_instance": "chat",
            "data": data, "message": pressed}})
