"""The embedded ArcadeDB server's own process: `python -m graph.embedded_main GRAPH_DIR ...`.

The engine runs inside a JVM loaded into the Python process (JPype), so it gets a process of its
own and everything else talks to it over Bolt on loopback. This module is that process: it starts
the server with only the Bolt plugin, creates the database, publishes its ports in `server.json`
once it is ready, and stops cleanly on SIGTERM. `graph.embedded` starts and supervises it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

STATE_FILE = "server.json"
PASSWORD_FILE = "root.password"  # noqa: S105 - a file name, not a password


def _write_json_atomically(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="graph.embedded_main")
    parser.add_argument("graph_dir", type=Path)
    parser.add_argument("--bolt-port", type=int, required=True)
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--heap", default="512m")
    parser.add_argument("--database", default="warrant")
    args = parser.parse_args(argv)

    graph_dir: Path = args.graph_dir.resolve()
    # The engine writes its application log to ./log whatever it is told; keep it in our folder.
    os.chdir(graph_dir)
    password = (graph_dir / PASSWORD_FILE).read_text().strip()
    config_dir = graph_dir / "config"
    config_dir.mkdir(exist_ok=True)
    # The MCP plugin is auto-discovered and cannot be left out of the plugin list; its own
    # configuration switches it off (it then answers "MCP server is disabled").
    (config_dir / "mcp-config.json").write_text(json.dumps({"enabled": False}))

    from arcadedb_embedded.server import ArcadeDBServer

    server = ArcadeDBServer(
        root_path=str(graph_dir),
        root_password=password,
        config={
            "mode": "production",
            "host": "localhost",
            "http_port": args.http_port,
            "bolt_port": args.bolt_port,
            "server_plugins": "Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
            "server_httpsIncomingPort": "0",
            "server_logsDirectory": str(graph_dir / "log"),
            "support_autoRegister": "false",
            "serverMetrics": "false",
        },
        jvm_kwargs={
            "heap_size": args.heap,
            # 2 = flush the write-ahead log with metadata at every commit: an acknowledged
            # write survives a crash of the machine, not only of the process.
            "jvm_args": ["-Darcadedb.txWalFlush=2"],
        },
    )
    server.start()
    server.create_database(args.database)

    stopping = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    state = graph_dir / STATE_FILE
    _write_json_atomically(
        state,
        {
            "pid": os.getpid(),
            "bolt_port": args.bolt_port,
            "http_port": args.http_port,
            "database": args.database,
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    )
    print(f"warrant: embedded graph ready on bolt://127.0.0.1:{args.bolt_port}", flush=True)
    while not stopping.wait(1.0):
        pass
    print("warrant: stopping embedded graph", flush=True)
    try:
        server.stop()
    finally:
        # Only remove the state we published: a newer server may have replaced it.
        try:
            if json.loads(state.read_text()).get("pid") == os.getpid():
                state.unlink()
        except (OSError, ValueError):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
