"""A gunicorn server on loopback, for the SMS benchmark and the fault tests.

The same command line as the Procfile's ``web`` process (sync workers), bound to a
free port on 127.0.0.1 and configured only through the environment it is given.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT_APP = "web_survey:create_app()"
FLOOR_APP = "bench.floor:create_app()"
# How long a server may take to answer its first request (imports, app start-up).
READY_SECONDS = 60


class ServerFailed(RuntimeError):
    """Gunicorn exited or never answered."""


@dataclass(frozen=True)
class Server:
    """A running gunicorn: its address and its processes."""

    url: str
    process: subprocess.Popen[bytes]

    def worker_pids(self) -> list[int]:
        """The master's worker processes now (a killed worker's replacement included)."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [int(child) for child in children]


def free_port() -> int:
    """A TCP port on loopback that nothing is listening on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_ready(server: Server) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerFailed(f"gunicorn exited with {server.process.returncode}")
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise ServerFailed(f"gunicorn did not answer {server.url}/healthz in {READY_SECONDS}s")


@contextmanager
def gunicorn(app: str, env: Mapping[str, str], workers: int,
             log: Path | None = None) -> Iterator[Server]:
    """Serve ``app`` with ``workers`` sync workers and ``env`` on top of this environment.

    Gunicorn's own log goes to ``log`` (or nowhere); on exit the server is stopped.
    """
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers),
               "--bind", f"127.0.0.1:{port}", "--log-level", "warning", app]
    with open(log or os.devnull, "ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env},
                                   stdout=out, stderr=out)
        server = Server(f"http://127.0.0.1:{port}", process)
        try:
            _wait_until_ready(server)
            yield server
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
