"""``nsw-feedback staff add`` and ``remind`` through the real command line."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from storage.models import AuditEntry, Invitation, StaffUser, utcnow
from storage.staff import check_password
from web_survey.bootstrap import Services
from web_survey.config import ENV_SETTINGS

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _sites(sites: dict[str, int]) -> None:
    """Every command here works on Calderdale and Camden."""


def _user(nsw: Services, email: str, password: str = "") -> dict[str, Any] | None:
    """What is stored for ``email``, and whether ``password`` is theirs."""
    with nsw.uow() as uow:
        user = uow.session.scalar(select(StaffUser).where(StaffUser.email == email))
        if user is None:
            return None
        return {"site": user.site.code if user.site else "", "admin": user.is_admin,
                "hash": user.password_hash, "matches": check_password(user, password)}


def test_staff_add_reads_the_password_twice_from_a_script(
        nsw: Services, cli: Callable[..., Any]) -> None:
    result = cli("staff", "add", "lead@calderdale.example", "--site", "cal",
                 input="a very long password\n" * 2)
    assert "added staff member lead@calderdale.example" in result.output
    user = _user(nsw, "lead@calderdale.example", "a very long password")
    assert user is not None
    assert (user["site"], user["admin"], user["matches"]) == ("CAL", False, True)
    assert "a very long password" not in user["hash"]


@pytest.mark.parametrize(("lines", "message"), [
    ("a very long password\nanother long password\n", "the two passwords are not the same"),
    ("short\nshort\n", "the password must have at least 12 characters"),
])
def test_staff_add_refuses_a_bad_password(nsw: Services, cli: Callable[..., Any],
                                          lines: str, message: str) -> None:
    result = cli("staff", "add", "lead@calderdale.example", "--site", "CAL", input=lines,
                 expect=1)
    assert message in result.output
    assert _user(nsw, "lead@calderdale.example") is None


def test_staff_add_at_a_terminal_asks_twice_without_echo(
        nsw: Services, app_config: dict[str, Any]) -> None:
    """Run the real command on a pseudo-terminal: the prompts show, the password never."""
    cli_env = {name: str(app_config.get(name) or "") for name in ENV_SETTINGS}
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-c", "from web_survey.cli import main; main()", "staff", "add",
         "admin@example.org", "--admin"],
        stdin=follower, stdout=follower, stderr=follower, cwd=ROOT,
        env={**os.environ, **cli_env, "PYTHONPATH": str(ROOT)})
    os.close(follower)
    seen = b""

    def read_until(marker: bytes) -> None:
        nonlocal seen
        while marker not in seen:
            chunk = os.read(leader, 1024)
            assert chunk, f"the command ended before asking: {seen!r}"
            seen += chunk

    read_until(b"Password: ")
    os.write(leader, b"terminal password 123\n")
    read_until(b"Repeat for confirmation: ")
    os.write(leader, b"terminal password 123\n")
    read_until(b"added administrator")
    assert process.wait() == 0
    os.close(leader)
    assert b"terminal password" not in seen
    user = _user(nsw, "admin@example.org", "terminal password 123")
    assert user is not None and user["admin"] and user["matches"]


def test_remind_reminds_only_those_due(nsw: Services, cli: Callable[..., Any],
                                       make_participant: Callable[..., int]) -> None:
    make_participant("CAL-0001", site="CAL")
    make_participant("CAL-0002", site="CAL", phone="+447700900002")
    with nsw.uow() as uow:
        old = utcnow() - timedelta(days=4)
        for code, made in (("CAL-0001", old), ("CAL-0002", utcnow())):
            uow.session.add(Invitation(participant=uow.repo.participant(code), wave="baseline",
                                       channel="web", token=f"token-{code}", created_at=made))
        uow.commit()
    dry = cli("remind", "--site", "CAL", "--dry-run")
    assert "CAL-0001\tweb\thttps://feedback.example.org/s/token-CAL-0001" in dry.output
    assert "CAL-0002" not in dry.output
    assert "1 due at CAL" in dry.output
    result = cli("remind", "--site", "CAL")
    assert "1 reminded at CAL" in result.output
    again = cli("remind", "--site", "CAL")
    assert "0 reminded at CAL" in again.output  # the last contact is now today
    with nsw.uow() as uow:
        invitation = uow.repo.invitation("token-CAL-0001")
        assert invitation is not None and invitation.reminders_sent == 1
        actions = list(uow.session.scalars(select(AuditEntry.action)))
        assert actions.count("remind") == 2
