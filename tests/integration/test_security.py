"""Security and robustness across the app (issue 17): body limits, malformed updates,
database outages, tokens in logs, survey page caching, link channels, secure delete."""

from __future__ import annotations

import io
import logging
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from storage.db import make_engine
from storage.models import Site
from web_survey import create_app
from web_survey.bootstrap import Services
from web_survey.telegram_routes import SECRET_HEADER

from .telegram_standin import SECRET, TOKEN, post_update
from .twilio_fakes import PHONE, post_signed, sid, snapshot, twilio_settings

MIB = 1024 * 1024


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """Telegram (webhook) and Twilio on; the Bot API is never reached in these tests."""
    app_config.update(twilio_settings(), TELEGRAM_BOT_TOKEN=TOKEN,
                      TELEGRAM_API_BASE_URL="http://127.0.0.1:9/bot",
                      TELEGRAM_WEBHOOK_SECRET=SECRET)
    return app_config


def invitation(nsw: Services, participant_id: int, channel: str = "web") -> str:
    with nsw.uow() as uow:
        person = uow.repo.participant_by_id(participant_id)
        token = uow.repo.add_invitation(person, "baseline", channel).token
        uow.commit()
    return token


# ---------------------------------------------------------------- item 10: body size


class _Unreadable(io.RawIOBase):
    """A request body that fails the test if anyone reads it."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise AssertionError("the body of an oversize request was read")


@pytest.mark.parametrize("path", ["/telegram/webhook", "/twilio/sms", "/staff/sign-in",
                                  "/s/some-token"])
def test_an_oversize_post_gets_413_before_its_body_is_read(client: FlaskClient,
                                                           path: str) -> None:
    response = client.post(path, environ_overrides={
        "wsgi.input": _Unreadable(), "CONTENT_LENGTH": str(50 * MIB),
        "CONTENT_TYPE": "application/json"})
    assert response.status_code == 413


def test_a_real_large_body_gets_413_and_changes_nothing(client: FlaskClient,
                                                        nsw: Services) -> None:
    before = snapshot(nsw)
    body = b'{"update_id": 1, "pad": "' + b"x" * (2 * MIB) + b'"}'
    response = client.post("/telegram/webhook", data=body, headers={
        SECRET_HEADER: SECRET, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert snapshot(nsw) == before


def test_the_body_limit_is_configurable(app_config: dict[str, Any]) -> None:
    app_config["MAX_CONTENT_LENGTH"] = "4096"
    app = create_app(app_config)
    try:
        client = app.test_client()
        assert client.post("/staff/sign-in", data=b"x" * 5000).status_code == 413
        assert client.post("/staff/sign-in", data=b"x" * 1000).status_code == 400  # CSRF
    finally:
        app.extensions["nsw"].engine.dispose()


# ---------------------------------------------------------------- item 11: malformed updates


@pytest.mark.parametrize("depth", [40, 200, 100_000])
def test_a_deeply_nested_update_is_a_bad_request_and_changes_nothing(
        app: Flask, client: FlaskClient, nsw: Services, depth: int) -> None:
    before = snapshot(nsw)
    body = '{"update_id": 7, "message": ' + "[" * depth + "]" * depth + "}"
    response = client.post("/telegram/webhook", data=body, headers={
        SECRET_HEADER: SECRET, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert snapshot(nsw) == before
    app.extensions["telegram"].close()


# ---------------------------------------------------------------- item 13: outage, logs


@pytest.fixture
def silent_database() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word, like a database
    server that has stopped answering."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    yield listener.getsockname()[1]
    listener.close()


def _within(seconds: float, call: Callable[[], Any]) -> Any:
    """``call()``'s result, or a failure if it takes longer than ``seconds``."""
    result: list[Any] = []
    worker = threading.Thread(target=lambda: result.append(call()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert result, f"no answer within {seconds} s"
    return result[0]


@pytest.mark.parametrize("kind", ["postgresql", "sqlite"])
def test_while_the_database_is_away_webhooks_get_a_quick_503(
        app_config: dict[str, Any], silent_database: int, tmp_path: Path,
        kind: str) -> None:
    url = (f"postgresql://postgres@127.0.0.1:{silent_database}/test" if kind == "postgresql"
           else f"sqlite:///{tmp_path / 'no-such-folder' / 'gone.db'}")
    app_config.update(DATABASE_URL=url, DB_CONNECT_TIMEOUT="2")
    app = create_app(app_config)
    client = app.test_client()
    update = {"update_id": 9, "message": {
        "message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"},
        "from": {"id": 5, "is_bot": False, "first_name": "Sam"}, "text": "hello"}}
    form = {"MessageSid": sid("SM"), "From": PHONE, "To": "+447700900999", "Body": "yes"}
    try:
        telegram = _within(15, lambda: post_update(client, update))
        sms = _within(15, lambda: post_signed(client, "/twilio/sms", form))
        survey = _within(15, lambda: client.get("/s/" + secrets.token_urlsafe(16)))
    finally:
        app.extensions["telegram"].close()
        app.extensions["nsw"].engine.dispose()
    for response in (telegram, sms, survey):
        assert response.status_code == 503
        assert response.headers["Retry-After"]


def test_sql_errors_never_show_statement_parameters(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with pytest.raises(DBAPIError) as raised, engine.connect() as connection:
            connection.execute(text("SELECT no_such_column WHERE :token = :token"),
                               {"token": "secret-token-value"})
        assert "secret-token-value" not in str(raised.value)
    finally:
        engine.dispose()


def test_tokens_never_reach_a_log_line_errors_included(
        app_config: dict[str, Any], nsw: Services, make_participant: Callable[..., int],
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    token = invitation(nsw, make_participant())
    app_config["PROPAGATE_EXCEPTIONS"] = False  # log a failure as production does
    app = create_app(app_config)

    def broken(given: str, *_: object) -> None:
        raise RuntimeError(f"could not open /s/{given}")

    monkeypatch.setattr("web_survey.survey_views._open", broken)
    bot_token = "123456789:AAH" + "x" * 32
    try:
        with caplog.at_level(logging.INFO):
            assert app.test_client().get(f"/s/{token}").status_code == 500
            logging.getLogger("werkzeug").info('127.0.0.1 - - "GET /s/%s HTTP/1.1" 200 -',
                                               token)
            logging.getLogger("httpx").info(
                'HTTP Request: POST https://api.telegram.org/bot%s/sendMessage "200 OK"',
                bot_token)
            logging.getLogger("bot").info("linked by /start %s", token)
    finally:
        app.extensions["nsw"].engine.dispose()
    assert "Exception on /s/[token] [GET]" in caplog.text
    assert "RuntimeError: could not open /s/[token]" in caplog.text
    assert token not in caplog.text and bot_token not in caplog.text


# ---------------------------------------------------------------- item 15: smaller ones


def test_survey_pages_are_never_cached(client: FlaskClient, nsw: Services,
                                       make_participant: Callable[..., int]) -> None:
    token = invitation(nsw, make_participant())
    for response in (client.get(f"/s/{token}"), client.get("/s/not-a-real-token")):
        assert response.headers["Cache-Control"] == "no-store"


def test_a_telegram_deep_link_token_does_not_open_the_web_survey(
        client: FlaskClient, nsw: Services, make_participant: Callable[..., int]) -> None:
    telegram = invitation(nsw, make_participant("CAL-0001"), "telegram")
    web = invitation(nsw, make_participant("CAL-0002", phone="+447700900002"), "web")
    assert client.get(f"/s/{web}").status_code == 200
    assert client.get(f"/s/{telegram}").status_code == 404


def _as_most_builds(connection: Any, _record: Any) -> None:
    """SQLite as most builds ship it: deleted text left in the file's free space (this
    machine's Debian build zeroes it by default, which would hide the defect)."""
    connection.execute("PRAGMA secure_delete=OFF")


def test_sqlite_overwrites_what_is_deleted(database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("secure_delete is SQLite's; PostgreSQL's files are the server's")
    engine = make_engine(database_url)
    event.listen(engine, "connect", _as_most_builds, insert=True)
    marker = f"erase-me-{secrets.token_hex(8)}"
    path = Path(str(engine.url.database))
    try:
        with engine.begin() as connection:
            assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
            connection.execute(Site.__table__.insert(), [
                {"code": code, "name": name, "contact_text": name}
                for code, name in (("KP1", "Kept one"), ("ERA", marker), ("KP2", "Kept"))])
        with engine.begin() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        assert marker.encode() in path.read_bytes()  # the row reached the file
        with engine.begin() as connection:
            connection.execute(Site.__table__.delete())
        with engine.begin() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        wal = path.with_name(path.name + "-wal")
        left = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
        assert marker.encode() not in left
    finally:
        engine.dispose()
