"""A threaded HTTP server on a free loopback port, for the test doubles that speak HTTP."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class QuietServer(ThreadingHTTPServer):
    """Does not print tracebacks for clients that hang up (or speak TLS to plain HTTP)."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class LoopbackServer:
    """Base for a double: ``_serve(Handler)`` in ``start()``, then ``host`` and ``stop()``."""

    _server: ThreadingHTTPServer | None = None

    @property
    def host(self) -> str:
        """``127.0.0.1:<port>`` the double listens on."""
        assert self._server is not None
        return f"127.0.0.1:{self._server.server_address[1]}"

    def _serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = QuietServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
