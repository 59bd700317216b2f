"""Production processes: the Procfile's web line under gunicorn, and database
connections that never cross a fork (gunicorn and RQ workers are forked)."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path

from sqlalchemy import text

from tests.servers import ROOT, free_port, procfile, project_env, wait_until


def test_a_forked_child_never_uses_its_parents_connection(nsw):
    engine = nsw.engine
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
        connection.connection.info["opened_by"] = os.getpid()
    # That connection is back in the pool now, ready to be handed out again.
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
                os.write(write, str(connection.connection.info.get("opened_by", 0)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child_saw = int(pipe.read() or -1)
    os.waitpid(child, 0)

    assert child_saw == 0, "the child was handed its parent's connection"
    with engine.connect() as connection:
        # The parent's connection survived the child: it was dropped there, not closed.
        assert connection.connection.info["opened_by"] == os.getpid()
        assert connection.execute(text("SELECT 1")).scalar() == 1


def test_every_procfile_command_exists():
    import click

    from web_survey.cli import main

    commands = {name: line.split()[1:] for name, line in procfile().items()
                if line.startswith("nsw-feedback ")}
    assert set(commands) == {"release", "bot", "worker"}
    for name, words in commands.items():
        found = main.get_command(click.Context(main), words[0])  # imported when asked for
        for word in words[1:]:
            assert found is not None, f"{name}: no command {' '.join(words)}"
            found = found.commands.get(word)  # type: ignore[union-attr]
        assert found is not None, f"{name}: no command {' '.join(words)}"


def test_the_procfile_release_and_web_lines_serve_the_app(app_config, tmp_path: Path):
    processes = procfile()
    assert set(processes) == {"release", "web", "bot", "worker"}
    port = free_port()
    env = project_env(app_config, tmp_path / "bin", PORT=str(port), WEB_CONCURRENCY="2")
    release = subprocess.run(["bash", "-c", processes["release"]], env=env, cwd=ROOT,
                             check=True, capture_output=True, text=True, timeout=120)
    assert "database is up to date" in release.stdout
    # Loopback only in tests; a platform binds the address the Procfile gives.
    web = processes["web"].replace("0.0.0.0", "127.0.0.1")
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(["bash", "-c", f"exec {web}"], env=env, cwd=ROOT,
                              stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/healthz"

    def answering() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status == 200
        except OSError:
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
            return False

    try:
        wait_until(answering, "gunicorn to serve /healthz")
        for _ in range(20):
            with urllib.request.urlopen(url, timeout=5) as response:
                assert json.load(response) == {"status": "ok", "database": "ok"}
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    output = (tmp_path / "gunicorn.log").read_text()
    # Threads keep a worker answering webhooks while it streams a long export.
    assert "Using worker: gthread" in output and output.count("Booting worker") == 2
    # No access log: it would write every /s/<token> survey link into the logs.
    assert "/healthz" not in output
