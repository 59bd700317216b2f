"""The floor for the webhook benchmarks: bare Flask routes doing one INSERT and commit.

It stands for the least any webhook must do: take the form (SMS) or the JSON update
(Telegram), write one row, answer. It
uses the product's own engine settings (``storage.db.make_engine``: the same pool, the
same SQLite pragmas) on the same database, so the ratio measures the product's own work.

    DATABASE_URL=... gunicorn "bench.floor:create_app()"
"""

from __future__ import annotations

import os

from flask import Flask, Response, request
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, insert

from storage.db import make_engine

metadata = MetaData()
floor_texts = Table(
    "bench_floor_texts", metadata,
    Column("id", Integer, primary_key=True),
    Column("message_sid", String(80)),
    Column("body", Text),
)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'


def create_app() -> Flask:
    """The floor app on ``DATABASE_URL`` (its table must exist: see ``sms_bench``)."""
    app = Flask(__name__)
    engine = make_engine(os.environ["DATABASE_URL"], int(os.environ.get("DB_POOL_SIZE") or 5))

    @app.post("/twilio/sms")
    def sms_in() -> Response:
        with engine.begin() as connection:
            connection.execute(insert(floor_texts).values(
                message_sid=request.form.get("MessageSid", ""),
                body=request.form.get("Body", "")))
        return Response(EMPTY_TWIML, mimetype="application/xml")

    @app.post("/telegram/webhook")
    def telegram_in() -> Response:
        update = request.get_json(force=True)
        with engine.begin() as connection:
            connection.execute(insert(floor_texts).values(
                message_sid=str(update.get("update_id", "")),
                body=str((update.get("message") or {}).get("text", ""))))
        return Response("", 200)

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    return app
