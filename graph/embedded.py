"""Start, find, check and stop the embedded ArcadeDB server that several processes share.

One server per `$WARRANT_HOME`. Its process publishes `server.json` (pid and ports) when ready; a
file lock serialises starts, so the CLI, the API and the tests that ask at once get one server.
A pid file whose process is gone, or is not our server, is stale and is cleaned up.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

from graph.embedded_main import PASSWORD_FILE, STATE_FILE
from graph.errors import ConfigurationError, GraphUnavailable
from graph.settings import Settings

DATABASE = "warrant"
_MAIN_MODULE = "graph.embedded_main"


@dataclass(frozen=True)
class ServerInfo:
    """Where a running embedded server listens and how to sign in to it."""

    pid: int
    bolt_port: int
    http_port: int
    started_at: str
    password: str
    log_path: Path
    database: str = DATABASE
    user: str = "root"

    @property
    def bolt_uri(self) -> str:
        return f"bolt://127.0.0.1:{self.bolt_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def alive(self) -> bool:
        """Whether this server's process still runs; once it is gone it never answers on these ports
        again (a restart picks new ones), so a client of it can stop at once."""
        return _is_our_server(self.pid)


class EmbeddedServer:
    """Manages the server process for one `$WARRANT_HOME`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.dir = settings.graph_dir
        self.state_path = self.dir / STATE_FILE
        self.password_path = self.dir / PASSWORD_FILE
        self.log_path = self.dir / "server.log"
        self.lock_path = self.dir / "server.lock"

    # -- public -------------------------------------------------------------------------------

    def status(self) -> ServerInfo | None:
        """The running server, or None; cleans up a stale state file on the way."""
        if not self.dir.exists():
            return None
        with self.lock():
            return self._running()

    def ensure_running(self) -> tuple[ServerInfo, bool]:
        """The running server, starting it if needed; the flag says whether this call started it."""
        self._prepare_home()
        with self.lock():
            info = self._running()
            if info is not None:
                return info, False
            return self._start(), True

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the server gracefully (SIGTERM, then SIGKILL after `timeout`); False if none ran."""
        if not self.dir.exists():
            return False
        with self.lock():
            info = self._running()
            if info is None:
                return False
            proc = psutil.Process(info.pid)
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except psutil.TimeoutExpired:
                proc.kill()
                proc.wait(10)
            self.state_path.unlink(missing_ok=True)
            return True

    # -- internals ----------------------------------------------------------------------------

    def _prepare_home(self) -> None:
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            # A probe of this process's own: processes starting at once must not delete each
            # other's (a shared name made one of three concurrent `db start` fail).
            with tempfile.TemporaryFile(dir=self.dir) as probe:
                probe.write(b"ok")
        except OSError as exc:
            raise ConfigurationError(
                f"WARRANT_HOME={self.settings.home} is not writable: {exc.strerror or exc}"
            ) from exc

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive across processes on this home: starts, stops and schema set-up take it."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _running(self) -> ServerInfo | None:
        """Read the state file; a dead or foreign pid, or a silent port, makes it stale."""
        try:
            state = json.loads(self.state_path.read_text())
        except FileNotFoundError:
            return None
        except ValueError:
            self.state_path.unlink(missing_ok=True)
            return None
        pid = int(state.get("pid", 0))
        if not _is_our_server(pid) or not _port_open(int(state["bolt_port"])):
            if _is_our_server(pid):  # alive but deaf: a hung server is as good as dead
                psutil.Process(pid).kill()
            self.state_path.unlink(missing_ok=True)
            return None
        return ServerInfo(
            pid=pid,
            bolt_port=int(state["bolt_port"]),
            http_port=int(state["http_port"]),
            started_at=state.get("started_at", ""),
            password=self._password(),
            log_path=self.log_path,
            database=state.get("database", DATABASE),
        )

    def _password(self) -> str:
        return self.password_path.read_text().strip()

    def _ensure_password(self) -> None:
        """Generate the root password once, readable by the owner only."""
        if self.password_path.exists():
            os.chmod(self.password_path, 0o600)
            return
        fd = os.open(self.password_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(24))
        # A users file from an earlier password would refuse the new one: let the server
        # recreate root with the password we now hold.
        (self.dir / "config" / "server-users.jsonl").unlink(missing_ok=True)

    def _pick_port(self, configured: int, variable: str) -> int:
        if configured:
            if not _port_free(configured):
                raise ConfigurationError(
                    f"port {configured} ({variable}) is already in use on 127.0.0.1; "
                    f"choose another or set {variable}=0 to pick a free one"
                )
            return configured
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])

    def _start(self) -> ServerInfo:
        self._ensure_password()
        bolt = self._pick_port(self.settings.graph_bolt_port, "WARRANT_GRAPH_BOLT_PORT")
        http = self._pick_port(self.settings.graph_http_port, "WARRANT_GRAPH_HTTP_PORT")
        if bolt == http:
            raise ConfigurationError("WARRANT_GRAPH_BOLT_PORT and WARRANT_GRAPH_HTTP_PORT are equal")
        self.state_path.unlink(missing_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"\n--- start {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    _MAIN_MODULE,
                    str(self.dir),
                    "--bolt-port",
                    str(bolt),
                    "--http-port",
                    str(http),
                    "--heap",
                    self.settings.graph_heap,
                    "--database",
                    DATABASE,
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.dir,
                start_new_session=True,  # outlives the command that started it
                env={**os.environ, "PYTHONPATH": _package_root()},
            )
        deadline = time.monotonic() + self.settings.graph_start_timeout
        while time.monotonic() < deadline:
            code = proc.poll()
            if code is not None:
                raise GraphUnavailable(
                    f"embedded graph server exited with code {code} while starting"
                    f"{_last_error(self.log_path)}; log: {self.log_path}"
                )
            info = self._running()
            if info is not None and info.pid == proc.pid:
                return info
            time.sleep(0.2)
        proc.kill()
        proc.wait(10)
        raise GraphUnavailable(
            f"embedded graph server not ready after {self.settings.graph_start_timeout:g} s "
            f"(WARRANT_GRAPH_START_TIMEOUT); log: {self.log_path}"
        )


def _package_root() -> str:
    """The folder holding `graph/`, so the child imports the same code as its parent."""
    root = str(Path(__file__).resolve().parent.parent)
    extra = os.environ.get("PYTHONPATH")
    return f"{root}{os.pathsep}{extra}" if extra else root


def _is_our_server(pid: int) -> bool:
    """True when pid is alive and is an embedded server (not a recycled pid of something else)."""
    if pid <= 0:
        return False
    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE and _MAIN_MODULE in proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _last_error(log_path: Path) -> str:
    """The last line of the log that names an error, so the one-line message says why."""
    try:
        lines = log_path.read_text(errors="replace").splitlines()[-200:]
    except OSError:
        return ""
    for line in reversed(lines):
        if any(word in line for word in ("Error", "Exception", "SEVER", "error:")):
            return f" ({line.strip()[:200]})"
    return ""
