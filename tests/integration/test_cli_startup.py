"""The newcomer's path through the command line: a quick --help, only the warnings a
command needs, no survey link in any log, a demo banner that can be run as printed, and
an export that starts with a byte-order mark only when it is a file for Excel."""

from __future__ import annotations

import codecs
import logging
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest

from tests.servers import ROOT, free_port, project_env, wait_until
from web_survey.cli import COMMANDS, main
from web_survey.cli.common import PROVIDER_LOGGERS, quiet
from web_survey.cli.demo import command_name
from web_survey.security import redact

HEAVY = ("pandas", "openpyxl", "pyreadstat", "telegram", "twilio", "gtts", "numpy",
         "flask", "sqlalchemy")
SMS_OFF = "SMS and phone surveys are off"
TELEGRAM_OFF = "Telegram is off"
DIGITS = "1\n1\n1\n1\n1\n1\n1\n1\n1\n1\nA bigger flat\n"


def test_help_imports_no_flask_pandas_or_provider_library() -> None:
    script = ("import sys\n"
              "from web_survey.cli import main\n"
              "try:\n"
              "    main(['--help'])\n"
              "except SystemExit:\n"
              "    pass\n"
              "print(' '.join(sorted(sys.modules)), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    loaded = {name.split(".")[0] for name in done.stderr.split()}
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
    assert "export" in done.stdout and "participant" in done.stdout


def test_the_command_table_matches_the_commands() -> None:
    context = click.Context(main)
    for name, (module, text) in COMMANDS.items():
        command = main.get_command(context, name)
        assert command is not None, name
        assert command.callback is None or command.callback.__module__.endswith(module)
        assert command.get_short_help_str(1000) == text, name
    assert set(main.commands) == set(COMMANDS)


def _said(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(record.getMessage() for record in caplog.records)


@pytest.fixture
def heard(caplog: pytest.LogCaptureFixture) -> Callable[[], str]:
    """What was logged at INFO and above (the providers' "off" lines are INFO)."""
    caplog.set_level(logging.INFO)
    return lambda: _said(caplog)


def test_commands_that_use_no_provider_do_not_say_it_is_off(
        cli: Callable[..., Any], heard: Callable[[], str], tmp_path: Path) -> None:
    cli("site", "add", "CAL", "Calderdale")
    cli("participant", "add", "--site", "CAL", "--code", "CAL-0001", "--type", "individual")
    cli("export", "--site", "CAL", "--out", str(tmp_path / "cal.csv"))
    cli("invite", "--site", "CAL", "--wave", "baseline", "--channel", "web")
    cli("chat", "--survey", "individual", input="")
    assert SMS_OFF not in heard() and TELEGRAM_OFF not in heard()


@pytest.mark.parametrize(("channel", "says", "not_said"), [
    ("sms", SMS_OFF, TELEGRAM_OFF), ("voice", SMS_OFF, TELEGRAM_OFF),
    ("telegram", TELEGRAM_OFF, SMS_OFF)])
def test_invite_says_only_its_own_provider_is_off(
        cli: Callable[..., Any], heard: Callable[[], str], make_participant: Any,
        channel: str, says: str, not_said: str) -> None:
    make_participant(code="CAL-0001")
    result = cli("invite", "--site", "CAL", "--wave", "baseline", "--channel", channel,
                 expect=1)
    assert "is not configured" in result.output
    assert heard().count(says) == 1 and not_said not in heard()


def test_remind_says_both_providers_are_off(cli: Callable[..., Any],
                                            heard: Callable[[], str],
                                            make_participant: Any) -> None:
    make_participant(code="CAL-0001")
    cli("remind", "--site", "CAL", "--dry-run")
    assert SMS_OFF in heard() and TELEGRAM_OFF in heard()


def test_quiet_puts_each_logger_back_as_it_was() -> None:
    names = [name for names in PROVIDER_LOGGERS.values() for name in names]
    logging.getLogger(names[0]).setLevel(logging.DEBUG)
    try:
        with quiet(names):
            assert all(logging.getLogger(n).level == logging.ERROR for n in names)
        assert logging.getLogger(names[0]).level == logging.DEBUG
        assert all(logging.getLogger(n).level == logging.NOTSET for n in names[1:])
    finally:
        logging.getLogger(names[0]).setLevel(logging.NOTSET)


def _record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("werkzeug", logging.INFO, __file__, 1, msg, args or None, None)


@pytest.mark.parametrize(("msg", "args", "written"), [
    ('%s - - [%s] %s', ("127.0.0.1", "01/Dec/2026 10:00:00",
                        '"GET /s/AbC-12_xyz?lang=ur HTTP/1.1" 200 -'),
     '127.0.0.1 - - [01/Dec/2026 10:00:00] "GET /s/[token]?lang=ur HTTP/1.1" 200 -'),
    ("Exception on /s/AbC-12_xyz [POST]", (), "Exception on /s/[token] [POST]"),
    ("open https://feedback.example.org/s/AbC-12_xyz now", (),
     "open https://feedback.example.org/s/[token] now"),
    ('"GET /staff/sites/CAL/ HTTP/1.1" 200 -', (), '"GET /staff/sites/CAL/ HTTP/1.1" 200 -'),
])
def test_the_filter_writes_no_survey_token(msg: str, args: tuple[object, ...],
                                           written: str) -> None:
    assert redact(_record(msg, *args).getMessage()) == written


def test_command_name_is_what_this_terminal_can_run(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / ".venv" / "bin" / "nsw-feedback"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert command_name(".venv/bin/nsw-feedback") == ".venv/bin/nsw-feedback"
    assert command_name(str(script)) == ".venv/bin/nsw-feedback"
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert command_name(str(script)) == str(script)
    monkeypatch.setenv("PATH", f"{script.parent}:/usr/bin:/bin")
    assert command_name(str(script)) == "nsw-feedback"
    assert command_name("/usr/bin/pytest") == "nsw-feedback"


@pytest.mark.slow
def test_demo_logs_requests_without_tokens_and_prints_a_runnable_chat(
        app_config: dict[str, Any], tmp_path: Path) -> None:
    env = project_env(app_config, tmp_path / ".venv" / "bin",
                      DATABASE_URL=f"sqlite:///{tmp_path / 'demo.db'}")
    env.pop("PUBLIC_BASE_URL")
    env["PATH"] = env["PATH"].split(":", 1)[1]  # the script is not on PATH, as after make
    port = free_port()
    log = tmp_path / "demo.log"
    with log.open("wb") as errors:
        demo = subprocess.Popen([".venv/bin/nsw-feedback", "demo", "--port", str(port)],
                                cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=errors,
                                text=True)
        try:
            banner = []
            assert demo.stdout is not None
            for line in demo.stdout:
                banner.append(line)
                if line.startswith("As a demo participant"):
                    break
            base = f"http://127.0.0.1:{port}"

            def answering() -> bool:
                assert demo.poll() is None, log.read_text()
                try:
                    with urllib.request.urlopen(f"{base}/healthz", timeout=5) as answer:
                        return answer.status == 200
                except urllib.error.HTTPError as error:  # 503 while the demo starts
                    error.close()
                    return False
                except OSError:
                    return False

            wait_until(answering, "the demo to serve", limit=60)
            tokens = re.findall(r"/s/(\S+)", "".join(banner))
            assert len(tokens) == 4
            with urllib.request.urlopen(f"{base}/s/{tokens[0]}", timeout=10) as page:
                assert page.status == 200
            wait_until(lambda: "GET /s/" in log.read_text(), "the request log line")
        finally:
            demo.terminate()
            demo.wait(timeout=30)
            if demo.stdout is not None:
                demo.stdout.close()
    written = log.read_text()
    assert '"GET /s/[token] HTTP/1.1" 200' in written
    assert not any(token in written for token in tokens)
    assert SMS_OFF in written and TELEGRAM_OFF in written  # the demo serves both
    printed = "".join(banner)
    assert ".venv/bin/nsw-feedback chat --participant DEMO-0001" in printed
    assert " nsw-feedback chat" not in printed


def test_export_to_stdout_has_no_byte_order_mark_and_a_file_does(
        cli: Callable[..., Any], make_participant: Any, tmp_path: Path) -> None:
    make_participant(code="CAL-0001")
    cli("chat", "--participant", "CAL-0001", input=DIGITS)
    for fmt in ("long", "dictionary"):
        shown = cli("export", "--site", "CAL", "--format", fmt, "--survey", "individual")
        assert not shown.stdout_bytes.startswith(codecs.BOM_UTF8), fmt
        assert shown.stdout_bytes.count(b"\n") > 1, fmt
        out = tmp_path / f"cal-{fmt}.csv"
        cli("export", "--site", "CAL", "--format", fmt, "--survey", "individual",
            "--out", str(out))
        assert out.read_bytes() == codecs.BOM_UTF8 + shown.stdout_bytes
