"""``POST /telegram/webhook``: Telegram updates for the bot, in webhook mode.

The route checks Telegram's secret header in constant time (403 otherwise), decodes
nothing itself and hands the update to the bot (``bot.channels.telegram.WebhookBot``).
Set the webhook with ``nsw-feedback bot --webhook``.
"""

from __future__ import annotations

import hmac
import logging

from flask import Blueprint, abort, current_app, request
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue

from bot.channels.telegram import DISABLED, UpdateNotHandled, WebhookBot, telegram_enabled

from .security import csrf

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name

# The bot answers without its name, but the staff pages need it for t.me links.
UNNAMED = ("Telegram invitations cannot be made on the staff pages: set "
           "TELEGRAM_BOT_USERNAME (the bot's name, for its t.me links)")

bp = Blueprint("telegram", __name__)
csrf.exempt(bp)


@bp.record_once
def _set_up(state: BlueprintSetupState) -> None:
    if not telegram_enabled(state.app.config):
        log.warning(DISABLED)
    elif not state.app.config.get("TELEGRAM_BOT_USERNAME"):
        log.warning(UNNAMED)
    nsw = state.app.extensions["nsw"]
    state.app.extensions["telegram"] = WebhookBot(nsw.config, nsw.conversations)


def _too_deep(data: object, limit: int = 32) -> bool:
    """True when ``data`` nests lists and objects deeper than ``limit`` (a real update
    is under ten deep): nothing that deep reaches the bot."""
    level = [data]
    for _ in range(limit):
        level = [child for item in level if isinstance(item, dict | list)
                 for child in (item.values() if isinstance(item, dict) else item)]
        if not level:
            return False
    return True


@bp.post("/telegram/webhook")
def webhook() -> ResponseReturnValue:
    """Handle one update; 403 without the right secret, 400 for a malformed body."""
    secret = str(current_app.config.get("TELEGRAM_WEBHOOK_SECRET") or "")
    given = request.headers.get(SECRET_HEADER, "")
    if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
        abort(403)
    if not telegram_enabled(current_app.config):
        abort(503)
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nested far deeper than any real update
        abort(400)
    if not isinstance(data, dict) or _too_deep(data):
        abort(400)
    try:
        current_app.extensions["telegram"].process(data)
    except ValueError:
        abort(400)
    except UpdateNotHandled:
        # Not stored, perhaps: a non-2xx makes Telegram send it again, and a retry of
        # an update that was stored after all records nothing twice.
        return "Not handled; please send it again.\n", 503, {"Retry-After": "30"}
    return "", 200
