"""A real HTTP server on 127.0.0.1 in a thread of the test process, on a port the system
chose (bound to port 0 and read back)."""

from __future__ import annotations

import sys
from pathlib import Path


class HttpServer:
    """A real HTTP server on 127.0.0.1, serving the files of ``root`` from a thread.

    Like most web servers and object stores it sends an ``ETag`` (here: a hash of the file),
    which DVC uses to notice that a URL dependency changed. ``requests`` records the path and
    headers of every request; when ``required_headers`` is set, a request without them gets
    401 Unauthorized."""

    def __init__(self, root: Path):
        import functools
        import hashlib
        import http.server
        import threading

        self.root = root
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.required_headers: dict[str, str] = {}
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def send_head(self):
                server.requests.append((self.path, dict(self.headers)))
                if any(self.headers.get(k) != v for k, v in server.required_headers.items()):
                    self.send_error(401, "Unauthorized")
                    return None
                return super().send_head()

            def end_headers(self):
                target = Path(self.translate_path(self.path))
                if target.is_file():
                    tag = hashlib.md5(target.read_bytes()).hexdigest()
                    self.send_header("ETag", f'"{tag}"')
                super().end_headers()

            def log_message(self, *args):  # keep test output quiet
                pass

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                # Clients (DVC among them) may hang up once they have the headers they need.
                if not isinstance(sys.exc_info()[1], ConnectionError):
                    super().handle_error(request, client_address)

        self._httpd = Server(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
