"""A stand-in for the model hub on localhost: serves weight files in chunks, as slowly as asked.

Point the app at it with HF_ENDPOINT (a subprocess) or by patching huggingface_hub's
constants.ENDPOINT (this process).
"""

from __future__ import annotations

import contextlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK = 1 << 16


class FakeHub:
    """Serves `files` (name → bytes) under any repository's resolve/main/ path; other names
    are 404. Each chunk of CHUNK bytes follows `delay_s` after the last; with `cut_after`
    the connection closes once that many bytes were sent. `sent` counts bytes written."""

    def __init__(self, files: dict[str, bytes], delay_s: float = 0.0, cut_after: int = 0):
        self.files = files
        self.delay_s = delay_s
        self.cut_after = cut_after
        self.sent = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = hub.files.get(self.path.rsplit("/resolve/main/", 1)[-1])
                if body is None:
                    self.send_error(404, "Entry not found")
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._send(body)  # unless the client stops listening (cancelled)

            def _send(self, body: bytes) -> None:
                end = min(len(body), hub.cut_after) if hub.cut_after else len(body)
                for start in range(0, end, CHUNK):
                    time.sleep(hub.delay_s)
                    self.wfile.write(body[start : min(start + CHUNK, end)])
                    self.wfile.flush()
                    hub.sent += min(CHUNK, end - start)

            def log_message(self, *args: object) -> None:
                pass

        return Handler
