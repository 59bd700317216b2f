"""The staff area at ``/staff``: sign-in, dashboard, participants (and their recordings),
invitations, exports.

Every page that shows or changes a site's data goes through ``access.site_page``, the
one check that a person may see that site (site staff: their own; administrators: all).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response
from flask_login import LoginManager
from wtforms import Field

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.app_template_global()
def field_attrs(field: Field, hint: str = "", **attrs: Any) -> dict[str, Any]:
    """A form field's HTML attributes, with the hint and error tied to it for screen
    readers (``aria-describedby``) and ``aria-invalid`` when it has an error."""
    described = [f"{field.id}-hint"] if hint else []
    if field.errors:
        described.append(f"{field.id}-error")
        attrs["aria-invalid"] = "true"
    if described:
        attrs["aria-describedby"] = " ".join(described)
    return attrs


@bp.after_request
def _no_store(response: Response) -> Response:
    # Staff pages hold personal data: never keep them in a shared or back-button cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Register the staff pages and Flask-Login on ``app``."""
    from . import (  # noqa: F401
        access,
        accounts,
        admin,
        audit,
        auth,
        case_packs,
        dashboard,
        exports,
        interviews,
        invitations,
        participants,
        recordings,
        surveys,
    )

    login = LoginManager()
    login.login_view = "staff.sign_in"
    login.login_message = "Please sign in to see that page."
    login.login_message_category = "info"
    login.session_protection = "strong"
    login.user_loader(access.load_user)
    login.init_app(app)
    app.register_blueprint(bp)
