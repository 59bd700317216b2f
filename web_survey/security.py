"""Security every page shares: CSRF on every form and strict response headers.

The Content-Security-Policy allows no inline script: a page that needs a script
loads it from /static, or uses the per-request nonce as ``{{ csp_nonce() }}``.
Webhook blueprints (Twilio, Telegram) authenticate by signature or secret instead of a
CSRF token and exempt themselves with ``csrf.exempt(blueprint)``.
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, g
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()


def csp_nonce() -> str:
    """This request's nonce for an inline script or style that cannot be avoided."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return str(g.csp_nonce)


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
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    return response


def init_security(app: Flask) -> None:
    """Turn on CSRF protection and the security headers for every response."""
    # A CSRF token lives as long as the browser session: a respondent who pauses for an
    # hour on a question must not lose the answer they then give (never time out).
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(_headers)
