"""The UI as users get it: `streamlit run ui/app.py` in a child process against a real API server,
and headless Debian Chromium driven by Playwright, failing on any error the page raises."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.http_server import free_port

APP = Path(__file__).resolve().parents[2] / "ui" / "app.py"
CHROMIUM = Path("/usr/bin/chromium")
# As the machine's notes say: without the background-networking flags Chromium keeps trying hosts
# this closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
ARTIFACTS = Path(os.environ.get("WARRANT_TEST_ARTIFACTS") or APP.parents[1] / "test-artifacts")
"""Where screenshots go (gitignored); CI keeps the folder as the run's artifacts."""


@contextmanager
def streamlit_ui(api: str, log: Path) -> Iterator[str]:
    """The UI on a free loopback port, calling `api`, until the block ends."""
    port = free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
    ]  # fmt: skip
    env = {**os.environ, "WARRANT_API_URL": api}
    with open(log, "wb") as out:
        child = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 90
            while True:
                try:
                    if httpx.get(f"{base}/_stcore/health").status_code == 200:
                        break
                except httpx.ConnectError:
                    pass
                if child.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the UI did not start; see {log}:\n{log.read_text()[-2000:]}")
                time.sleep(0.2)
            yield base
        finally:
            child.terminate()
            child.wait(timeout=20)
