"""The Flask app factory: web survey, staff area, webhooks and audio, one app."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from the environment, then ``test_config`` on top."""
    # Imported here, not above: ``nsw-feedback --help`` imports this package (the
    # command line lives in it) and must not pay for Flask, SQLAlchemy and pandas.
    from flask import Flask

    from .bootstrap import bootstrap
    from .config import defaults, fill_secrets, settle
    from .security import init_security

    app = Flask(__name__, instance_relative_config=True)
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    config = defaults(instance)
    config.update(test_config or {})
    fill_secrets(config, instance)
    settle(config)
    app.config.update(config)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # Alembic narrates every no-op upgrade; keep the terminal for what people need.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    app.extensions["nsw"] = bootstrap(app.config)
    init_security(app)

    from . import audio_routes, health, staff, survey_views, telegram_routes, twilio_routes

    app.register_blueprint(health.bp)
    app.register_blueprint(audio_routes.bp)
    app.register_blueprint(survey_views.bp)
    app.register_blueprint(telegram_routes.bp)
    twilio_routes.init_app(app)
    staff.init_app(app)
    return app
