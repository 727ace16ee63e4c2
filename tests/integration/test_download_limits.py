"""A download that never ends is stopped: the last case of issue 11's broken exports (see
tests/unit/test_accounting.py), against a real HTTP server on 127.0.0.1 that sends its
headers, then one byte every 0.3 s, forever."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from panier.core.config import IngestParams, parse_params
from panier.core.errors import DataError
from panier.stages.ingest.sources import read_source


def ingest(**settings) -> IngestParams:
    return parse_params({"ingest": {"mapping": {"preset": "retail_export"}, **settings}}).ingest


@pytest.fixture
def slow_drip_server():
    """An HTTP server that answers with headers, then one byte every 0.3 s, forever."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\n\r\n")
                while not stop.is_set():
                    try:
                        connection.sendall(b"x")
                    except OSError:
                        break
                    time.sleep(0.3)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(timeout=5)
    listener.close()


def test_a_server_that_drips_bytes_is_stopped_by_the_total_download_time(slow_drip_server):
    params = ingest(
        source="url",
        path=f"{slow_drip_server}/export.csv",
        http={"timeout_seconds": 1, "max_seconds": 2},
    )
    started = time.monotonic()
    with pytest.raises(
        DataError,
        match=r"did not finish downloading within "
        r"ingest.http.max_seconds \(2 s\)",
    ):
        read_source(params)
    # Far below forever; loose enough for a loaded machine.
    assert time.monotonic() - started < 30
