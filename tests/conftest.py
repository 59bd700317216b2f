"""Fixtures shared by every test: app -> client/runner, each test on a clean database.

With ``TEST_DATABASE_URL`` set (CI sets PostgreSQL), the session works in a schema of
its own, so parallel runs on one server never see each other's rows.
"""

from __future__ import annotations

import inspect
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text

from storage.db import normalise_url
from storage.migrate import upgrade
from storage.models import Base, Participant, Site
from web_survey import create_app
from web_survey.bootstrap import Services
from web_survey.config import ENV_SETTINGS

PUBLIC_BASE_URL = "https://feedback.example.org"

# Fuzzing (hypothesis): by default a few fixed examples, so every run is quick and gives
# the same result; HYPOTHESIS_PROFILE=deep searches far wider, with new examples each run.
# Fuzz tests reuse function fixtures on purpose: each example makes its own participant.
_FUZZ = {"deadline": None, "suppress_health_check": [
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]}
settings.register_profile("default", max_examples=25, derandomize=True, **_FUZZ)
settings.register_profile("deep", max_examples=500, **_FUZZ)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database for this test session."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if url.startswith("postgres"):
        schema = f"test_{os.getpid()}_{secrets.token_hex(3)}"
        admin = create_engine(normalise_url(url))
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        joiner = "&" if "?" in url else "?"
        scoped = f"{url}{joiner}options=-csearch_path%3D{schema}"
        _migrate(scoped)
        yield scoped
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    else:
        scoped = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        _migrate(scoped)
        yield scoped


def _migrate(url: str) -> None:
    engine = create_engine(normalise_url(url))
    upgrade(engine)
    engine.dispose()


def test_config(database_url: str, folder: Path, **extra: Any) -> dict[str, Any]:
    """A configuration that ignores the machine's environment entirely."""
    config: dict[str, Any] = dict.fromkeys(ENV_SETTINGS, "")
    config.update(
        TESTING=True, DATABASE_URL=database_url, SECRET_KEY="test-secret-key",
        DATA_KEY="test-data-key", PUBLIC_BASE_URL=PUBLIC_BASE_URL,
        AUDIO_DIR=str(folder / "audio"), RECORDINGS_DIR=str(folder / "recordings"),
        QUIET_HOURS="", SITE_TIMEZONE="Europe/London", DB_POOL_SIZE=5,
        WTF_CSRF_ENABLED=True,
    )
    config.update(extra)
    return config


@pytest.fixture
def app_config(database_url: str, tmp_path: Path) -> dict[str, Any]:
    """The test app's configuration; tests may change it before asking for ``app``."""
    return test_config(database_url, tmp_path)


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    """The app on the session's database, emptied after each test."""
    app = create_app(app_config)
    yield app
    nsw: Services = app.extensions["nsw"]
    with nsw.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    nsw.engine.dispose()


@pytest.fixture
def nsw(app: Flask) -> Services:
    """The app's services: database, vault, surveys, conversations."""
    return app.extensions["nsw"]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def make_participant(nsw: Services) -> Callable[..., int]:
    """Add a participant (and their site) and return their id."""

    def make(code: str = "CAL-0001", respondent_type: str = "individual",
             phone: str | None = "+447700900001", site: str = "CAL", **fields: Any) -> int:
        with nsw.uow() as uow:
            found = uow.repo.site(site)
            if found is None:
                found = Site(code=site, name=f"Site {site}",
                             contact_text="Please call the social care team on 0113 496 0000.")
                uow.session.add(found)
            person = Participant(site=found, code=code, respondent_type=respondent_type,
                                 **fields)
            uow.session.add(person)
            if phone:
                uow.repo.set_contact(person, "phone", phone)
            uow.commit()
            return person.id

    return make


@dataclass(frozen=True)
class Ran:
    """A command's result: ``output`` is stdout then stderr, ``stdout`` and ``stderr``
    each alone (the same whichever click is installed)."""

    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None
    stdout_bytes: bytes = b""

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def cli(app: Flask, app_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
        ) -> Callable[..., Ran]:
    """Run ``nsw-feedback ...`` in-process, configured as the test app is.

    ``cli(*args, input=..., expect=0, **settings)``: the command reads this test's
    configuration (plus ``settings``, e.g. ``TELEGRAM_BOT_TOKEN=""``) from the
    environment and must end with exit code ``expect`` (``None``: any). The apps
    commands build close their own pools.
    """
    from click.testing import CliRunner

    from web_survey.cli import main

    def run(*args: str, input: str | IO[Any] | None = None, expect: int | None = 0,
            **settings: str) -> Ran:
        # The environment cannot say "no quiet hours" with an empty value (that means
        # the default), so the test app's empty setting is spelt "none" here.
        values = {**app_config, "QUIET_HOURS": app_config["QUIET_HOURS"] or "none",
                  **settings}
        for name in ENV_SETTINGS:
            monkeypatch.setenv(name, str(values.get(name) or ""))
        # click 8.1 mixes stderr into stdout unless told not to; 8.2 always keeps both.
        separate = ({"mix_stderr": False} if "mix_stderr" in
                    inspect.signature(CliRunner.__init__).parameters else {})
        result = CliRunner(**separate).invoke(main, list(args), input=input,
                                              catch_exceptions=False)
        ran = Ran(result.exit_code, result.stdout, result.stderr, result.exception,
                  result.stdout_bytes)
        if expect is not None:
            assert ran.exit_code == expect, ran.output
        return ran

    return run


@pytest.fixture
def stand_in() -> Iterator[Any]:
    """A loopback stand-in for Twilio's REST API (``tests/integration/twilio_fakes.py``);
    point ``TWILIO_API_BASE_URL`` at ``stand_in.url``."""
    from tests.integration.twilio_fakes import StandIn

    fake = StandIn()
    server = fake.start()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def api() -> Iterator[Any]:
    """A loopback stand-in for Telegram's Bot API (``tests/integration/telegram_standin.py``);
    point ``TELEGRAM_API_BASE_URL`` at ``api.url``."""
    from tests.integration.telegram_standin import BotApiStandIn

    with BotApiStandIn() as fake:
        yield fake
