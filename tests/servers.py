"""Real servers for the production and fault tests: the Procfile's processes and a
private PostgreSQL, all on loopback, each on a port of its own.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from glob import glob
from pathlib import Path
from typing import Any

from web_survey.config import ENV_SETTINGS

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port nothing listens on at the moment."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(check: Callable[[], bool], what: str, limit: float = 30.0) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


@dataclass(frozen=True)
class Gunicorn:
    """A running gunicorn: its address and its master process."""

    url: str
    process: subprocess.Popen[bytes]

    def worker_pids(self) -> list[int]:
        """The master's workers now (a killed worker's replacement included)."""
        pid = self.process.pid
        return [int(child) for child in
                Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@contextmanager
def gunicorn(app: str, env: Mapping[str, str], workers: int = 2, threads: int = 4,
             log: Path | None = None) -> Iterator[Gunicorn]:
    """Serve ``app`` as the Procfile's web line does (``workers`` x ``threads``), on a
    free loopback port, with ``env`` on top of this environment; stopped on exit.

    Gunicorn's and the app's log go to ``log`` (or nowhere).
    """
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads",
               str(threads), "--bind", f"127.0.0.1:{port}", app]
    with open(log or os.devnull, "ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env},
                                   stdout=out, stderr=out)
        server = Gunicorn(f"http://127.0.0.1:{port}", process)

        def answering() -> bool:
            assert process.poll() is None, f"gunicorn exited with {process.returncode}"
            try:
                with urllib.request.urlopen(f"{server.url}/healthz", timeout=5) as answer:
                    return answer.status == 200
            except OSError:
                return False

        try:
            wait_until(answering, f"gunicorn to serve {app}", limit=60)
            yield server
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def procfile() -> dict[str, str]:
    """The Procfile's process types and their commands."""
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict((part.strip() for part in line.split(":", 1)) for line in lines if ":" in line)


def project_env(config: Mapping[str, Any], scripts: Path, **extra: str) -> dict[str, str]:
    """The environment a deployment gives its processes: ``config`` as variables, and
    this checkout's ``nsw-feedback`` and the virtualenv's commands on PATH.

    The ``nsw-feedback`` script is written into ``scripts`` as pip would install it, so
    the Procfile's lines run this checkout whatever is installed in the virtualenv.
    """
    scripts.mkdir(parents=True, exist_ok=True)
    script = scripts / "nsw-feedback"
    script.write_text(f"#!{sys.executable}\nfrom web_survey.cli import main\nmain()\n")
    script.chmod(0o755)
    env = {key: value for key, value in os.environ.items() if key not in ENV_SETTINGS}
    env.update({name: str(config.get(name, "")) for name in ENV_SETTINGS})
    env["PYTHONPATH"] = str(ROOT)
    env["PATH"] = f"{scripts}:{Path(sys.executable).parent}:{env.get('PATH', '')}"
    env.update(extra)
    return env


class PrivatePostgres:
    """A PostgreSQL server of the test's own: initdb in a temporary folder, its own port.

    Tests run as root in CI and PostgreSQL refuses to run as root, so the server runs
    as the ``postgres`` user there.
    """

    def __init__(self) -> None:
        self.bin = self.find_binaries()
        if self.bin is None:
            raise FileNotFoundError("no initdb under /usr/lib/postgresql/*/bin or on PATH")
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                raise FileNotFoundError("running as root and runuser is missing")
            self.as_user = [runuser, "-u", "postgres", "--"]
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="nsw-private-pg-"))
        if self.as_user:
            shutil.chown(self.folder, "postgres", "postgres")
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        try:
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                      "-E", "UTF8", "--no-sync")
        except subprocess.CalledProcessError:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise

    @staticmethod
    def find_binaries() -> Path | None:
        """The folder holding initdb and pg_ctl, newest PostgreSQL first."""
        found = sorted(glob("/usr/lib/postgresql/*/bin/initdb"),
                       key=lambda p: int(Path(p).parts[-3]), reverse=True)
        initdb = found[0] if found else shutil.which("initdb")
        return Path(initdb).parent if initdb else None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        subprocess.run([*self.as_user, str(self.bin / program), *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)

    def start(self) -> None:
        """Start the server on loopback only, and wait until it accepts connections."""
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 "
                   f"-c unix_socket_directories={self.folder}")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; ``fast`` ends every open session as a crash or restart would."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def remove(self) -> None:
        """Stop the server if it runs and delete its folder."""
        if (self.data / "postmaster.pid").exists():
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)
