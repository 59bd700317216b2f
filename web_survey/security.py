"""Security every page shares: CSRF on every form and strict response headers.

The Content-Security-Policy allows no inline script: a page that needs a script
loads it from /static, or uses the per-request nonce as ``{{ csp_nonce() }}``.
Webhook blueprints (Twilio, Telegram) authenticate by signature or secret instead of a
CSRF token and exempt themselves with ``csrf.exempt(blueprint)``.

Also here: forwarded headers trusted only from ``TRUSTED_PROXIES`` proxies, a body
limit checked before a byte is read (larger for views that take recordings, whose
uploads stay in memory, and whose 413 is their own page: ``too_big``), ``no-store`` on
survey pages, a quick 503 while the database cannot be reached, and no invitation or bot
token in any log line.
"""

from __future__ import annotations

import io
import logging
import re
import secrets
from collections.abc import Callable
from typing import IO, Any, TypeVar

from flask import Flask, Request, Response, abort, current_app, g, make_response, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from bot.service.recordings import MAX_RECORDING_BYTES, RecordingRefused, Refusal

csrf = CSRFProtect()
log = logging.getLogger(__name__)
View = TypeVar("View", bound=Callable[..., Any])
# The body a view that takes a recording accepts: the largest recording and room for
# the form's other fields. Every other view keeps MAX_CONTENT_LENGTH.
RECORDING_BODY = MAX_RECORDING_BYTES + 64 * 1024

# Blueprints whose pages hold a person's answers.
SURVEY_BLUEPRINTS = frozenset({"survey"})
# Webhooks checked for a reachable database before they run. Only Telegram's: its bot
# answers on its own (and sends an apology) before the route can say anything, so it
# must not start when nothing can be stored. A Twilio webhook fails fast on its own
# (DB_CONNECT_TIMEOUT, then 503 below), and a check on every text costs the hot path
# a second pool checkout and ping.
CHECKED_WEBHOOKS = frozenset({"telegram"})
RETRY_AFTER = "30"

# Secrets that could reach a log line: an invitation token in a survey address or a
# Telegram /start, a token= parameter, a Telegram bot token in an API address.
_SECRETS = (
    (re.compile(r"(/s/)[A-Za-z0-9_-]+"), r"\1[token]"),
    (re.compile(r"(\bstart[= ]+)[A-Za-z0-9_-]{8,}"), r"\1[token]"),
    (re.compile(r"(token=)[^&\s\"']+", re.IGNORECASE), r"\1[token]"),
    (re.compile(r"\b(bot)?\d{5,}:[A-Za-z0-9_-]{20,}"), r"\1[bot-token]"),
)


def csp_nonce() -> str:
    """This request's nonce for an inline script or style that cannot be avoided."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return str(g.csp_nonce)


# How a page that takes recordings shows its question again, saying in easy words why a
# recording was not taken: called with the view's own arguments, ``phrase`` (the shared
# phrase that says why) and ``status``. It checks who may see the page, as the view does.
AskAgain = Callable[..., ResponseReturnValue]


def takes_recordings(ask_again: AskAgain) -> Callable[[View], View]:
    """Mark a view as taking a recorded answer: its requests may be as big as
    ``RECORDING_BODY``, its pages may use the microphone (for the browser's recorder),
    and a body bigger still gets ``ask_again``'s page (``too_big``). The person's own
    survey link and interview mode are such views."""

    def mark(view: View) -> View:
        view.ask_again = ask_again  # type: ignore[attr-defined]
        return view

    return mark


def _asks_again() -> AskAgain | None:
    """How this request's page shows its question again, if it takes recordings."""
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "ask_again", None)


def _records_here() -> bool:
    return _asks_again() is not None


def too_big(error: RequestEntityTooLarge) -> ResponseReturnValue:
    """The one 413 page. On a page that takes recordings (the person's own link,
    interview mode): its question again, saying in easy words that the voice message
    is too big and how big it may be; still 413, and nothing of it was read or stored.
    Anywhere else, and to anyone who may not see the page (signed out, another site's
    staff), the plain 413, which says nothing about the page."""
    ask_again = _asks_again()
    if ask_again is None:
        return error
    try:
        page = make_response(ask_again(**(request.view_args or {}),
                                       phrase=RecordingRefused(Refusal.TOO_BIG).phrase,
                                       status=413))
    except HTTPException:  # its 403 or 404 (an error handler's own are not handled)
        return error
    return page if page.status_code == 413 else error  # not a sign-in redirect either


class InMemoryRequest(Request):
    """A request whose uploaded files stay in memory (its body is already limited),
    so a recording never reaches a disk unencrypted, as Werkzeug's temporary file
    for anything over 500 KB would."""

    def _get_file_stream(self, total_content_length: int | None, content_type: str | None,
                         filename: str | None = None,
                         content_length: int | None = None) -> IO[bytes]:
        return io.BytesIO()


def _headers(response: Response) -> Response:
    nonce = csp_nonce()
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; "
        "img-src 'self' data:; media-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # Same-origin, not no-referrer: Flask-WTF checks the Referer of every HTTPS form
    # post, and no invitation link (the token is in the path) ever leaves the site.
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    microphone = "(self)" if request.endpoint and _records_here() else "()"
    response.headers.setdefault("Permissions-Policy",
                                f"camera=(), microphone={microphone}, geolocation=()")
    return response


def _survey_no_store(response: Response) -> Response:
    # A survey page shows a person's answers: on a shared computer (a care home, a
    # library) the next person must not page back through them.
    if request.blueprint in SURVEY_BLUEPRINTS:
        response.headers["Cache-Control"] = "no-store"
    return response


def _body_limit() -> None:
    """413 for a body over ``MAX_CONTENT_LENGTH``, decided from its declared length
    before a byte is read (a body without a length is cut off by Werkzeug instead)."""
    if _records_here():
        request.max_content_length = max(current_app.config["MAX_CONTENT_LENGTH"],
                                         RECORDING_BODY)
    limit, length = request.max_content_length, request.content_length
    if limit is not None and length is not None and length > limit:
        abort(413)


def _database_reachable() -> None:
    """While the database cannot be reached, answer a checked webhook 503 at once, so
    the provider tries again, rather than acknowledge what cannot be stored."""
    if request.blueprint not in CHECKED_WEBHOOKS:
        return
    from .bootstrap import services

    with services().engine.connect():
        pass  # taking a connection pings it (or connects, within DB_CONNECT_TIMEOUT)


def _database_away(error: Exception) -> Response:
    log.error("the database cannot be reached: %s", type(error).__name__)
    response = Response("The service is busy. Please try again in a minute.\n", 503,
                        mimetype="text/plain")
    response.headers["Retry-After"] = RETRY_AFTER
    return response


def redact(text: str) -> str:
    """``text`` with every invitation token and bot token replaced by a placeholder."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


_base_factory = logging.getLogRecordFactory()


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:  # a broken log call is for logging itself to report
        return record
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    return record


def keep_tokens_out_of_logs() -> None:
    """Redact tokens in every log record of this process, whichever logger makes it
    (the app, Werkzeug's and gunicorn's access logs, httpx, SQLAlchemy), errors too."""
    if logging.getLogRecordFactory() is not _redacting_factory:
        logging.setLogRecordFactory(_redacting_factory)


def _cookies(app: Flask) -> None:
    """One session cookie: HttpOnly, SameSite=Lax, and Secure when the site is https.

    Flask ships these keys with lax values, so they are set here, not defaulted.
    Flask-Login's remember-me cookie is never issued (no "remember me" box), but if it
    were it would carry the same flags.
    """
    https = str(app.config.get("PUBLIC_BASE_URL", "")).startswith("https://")
    for prefix in ("SESSION_COOKIE", "REMEMBER_COOKIE"):
        app.config[f"{prefix}_HTTPONLY"] = True
        app.config[f"{prefix}_SAMESITE"] = "Lax"
        app.config[f"{prefix}_SECURE"] = https


def init_security(app: Flask) -> None:
    """Turn on CSRF protection and the security headers for every response."""
    # A CSRF token lives as long as the browser session: a respondent who pauses for an
    # hour on a question must not lose the answer they then give (never time out).
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    _cookies(app)
    app.request_class = InMemoryRequest
    # Before CSRF's own check, which reads the form: the limit must be set by then.
    app.before_request(_body_limit)
    csrf.init_app(app)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(_headers)
    app.after_request(_survey_no_store)
    app.before_request(_database_reachable)
    app.register_error_handler(RequestEntityTooLarge, too_big)
    app.register_error_handler(OperationalError, _database_away)
    app.register_error_handler(PoolTimeout, _database_away)
    keep_tokens_out_of_logs()
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:
        # Only the last ``proxies`` hops are believed: a client cannot name its own
        # address, host or scheme by sending X-Forwarded-* itself.
        app.wsgi_app = ProxyFix(app.wsgi_app,  # type: ignore[method-assign]
                                x_for=proxies, x_proto=proxies, x_host=proxies,
                                x_port=proxies)
