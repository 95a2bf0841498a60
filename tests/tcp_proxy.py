"""A TCP proxy for fault tests: forwards to a real server until it is cut.

Cut means every open connection is closed at once and each new one is reset as soon as it is
accepted (the port keeps listening, so it looks like a server that drops everyone, not one that
is gone). It can cut itself the moment the client sends bytes holding a marker: the chunk is
forwarded first, so the server is in the middle of that work when its client disappears.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading


class TcpProxy:
    def __init__(self, target_port: int, *, host: str = "127.0.0.1") -> None:
        self.target = (host, target_port)
        self._listener = socket.create_server((host, 0))
        self._listener.settimeout(0.2)
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._cut = False
        self._stopped = False
        self._marker: bytes | None = None
        self.cut_event = threading.Event()
        self.connections = 0
        self._thread = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped = True
        self._thread.join(5)
        self._listener.close()
        self._close_all()

    def cut_when_client_sends(self, marker: bytes) -> None:
        """Cut right after forwarding the first client chunk that contains `marker`."""
        self._marker = marker

    def cut(self) -> None:
        with self._lock:
            self._cut = True
            self._marker = None
        self._close_all()
        self.cut_event.set()

    def restore(self) -> None:
        with self._lock:
            self._cut = False

    # -- internals ----------------------------------------------------------------------------

    def _close_all(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            _reset(sock)

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                refused = self._cut
            if refused:
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets |= {client, upstream}
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
                marker = self._marker
                if from_client and marker is not None and marker in data:
                    self.cut()
                    return
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def _reset(sock: socket.socket) -> None:
    """Close with RST (linger 0): the peer sees a dropped connection, not an orderly goodbye."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()
