"""The JSON Lines request log: one JSON object per answered ``POST /recommend``, and nothing
about the caller (no address, no headers, no customer id)::

    {"time": "2025-11-21T13:05:00.123Z", "request_id": "3f1c...", "basket": ["10040"],
     "k": 5, "recommended": ["10055", "10001"], "fallback": false,
     "model_version": "v1.0.0", "unknown": []}

``time`` is ISO-8601 UTC; ``basket`` is the distinct item codes as sent (in request order,
unknown ones included, so drift-check sees new products), ``recommended`` the answer best
first, ``fallback`` true when no rule applied (the answer is popularity only), ``unknown``
the basket's items the model does not know (answered from the others). Files rotate by
size: ``requests.jsonl``, then ``requests.jsonl.1`` (newer) to ``requests.jsonl.N`` (older).
Lines are written in batches, at most ``FLUSH_SECONDS`` after the answer, and all of them on
shutdown; the log survives its file being removed or renamed and its disk filling up
(``RequestLog``). ``StdoutRequestLog`` writes the same lines to standard output instead
(``--request-log -``), for a container whose log collector reads it.
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

log = logging.getLogger("panier_service")


def utc_now() -> str:
    """The current time as ISO-8601 UTC with milliseconds, e.g. 2025-11-21T13:05:00.123Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RequestLog:
    """Appends one JSON object per line to ``path``; when the next line would take the file
    past ``max_bytes`` (0: never), the file is rotated: ``path`` becomes ``path.1``,
    ``path.1`` becomes ``path.2``, and so on; the oldest beyond ``backups`` is deleted.

    ``write`` only appends the encoded line to a buffer; ``flush`` writes the buffer with one
    system call per file (the service flushes every ``FLUSH_SECONDS`` and whenever
    ``BATCH_LINES`` lines wait), so a request pays for neither a disk write nor a hand-over
    to another thread. ``close`` flushes what is left. One process writes one log: give
    each instance its own path.

    The log outlives what happens to its file while the service runs, and ``write`` and
    ``flush`` never raise:

    - the live file removed (log cleanup) or renamed (rotation by another tool): before each
      flush the log checks that ``path`` is still the file it holds open, and opens a new one
      if not; lines written to a file that was removed during the write are written again to
      the new file (a reader that drops repeated ``request_id`` s sees each request once);
    - the disk full, or the folder gone: the lines that could not be written stay in the
      buffer, in order, and are written at a later flush (a line cut by a full disk is
      completed, not repeated); only when more than ``MAX_PENDING_BYTES`` wait are the
      oldest dropped, and counted in ``dropped_lines``. ``write_errors`` counts failed
      attempts; the first of a run of failures is logged, and the recovery.
    """

    BATCH_LINES = 256
    FLUSH_SECONDS = 0.2
    RETRY_SECONDS = 1.0  # after a failed write, a full batch waits this long to retry
    MAX_PENDING_BYTES = 16 * 1024 * 1024

    def __init__(self, path: str | Path, max_bytes: int, backups: int):
        if backups < 1:
            raise ValueError("keep at least one rotated file (backups >= 1)")
        self.path = Path(path)
        self.max_bytes, self.backups = max_bytes, backups
        self._buffer: list[bytes] = []  # lines not yet (completely) written, oldest first
        self._offset = 0  # bytes of _buffer[0] already in the current file
        self._closed = False
        self._retry_at = 0.0
        self._failing = False
        self.write_errors = 0
        self.dropped_lines = 0
        self._file: io.FileIO | None = None
        self._open()  # an unwritable path fails here, at start, not on the first request

    @property
    def pending_lines(self) -> int:
        return len(self._buffer)

    def _open_file(self, path: Path) -> io.FileIO:
        """The file object lines are appended to (unbuffered: ``write`` returns how many
        bytes reached the file, so a write cut short by a full disk is known exactly)."""
        return open(path, "ab", buffering=0)

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = file = self._open_file(self.path)
        self._size = file.seek(0, os.SEEK_END)
        self._offset = 0  # a line cut short in the previous file is written whole again

    def _drop_file(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            with contextlib.suppress(OSError):
                file.close()

    def _follow(self) -> None:
        """Make sure the open file is the one at ``path`` (reopen after removal/rename)."""
        if self._file is not None:
            try:
                at_path = os.stat(self.path)
                held = os.fstat(self._file.fileno())
                if (at_path.st_dev, at_path.st_ino) == (held.st_dev, held.st_ino):
                    return
            except FileNotFoundError:
                pass
            self._drop_file()
            log.warning("request log %s was removed or renamed; writing to a new file", self.path)
        self._open()

    @staticmethod
    def encode(record: dict) -> bytes:
        """One line of the log."""
        return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)

    def write(self, record: dict) -> None:
        if self._closed:
            return
        self._buffer.append(self.encode(record))
        if len(self._buffer) >= self.BATCH_LINES and time.monotonic() >= self._retry_at:
            self.flush()

    def flush(self) -> None:
        """Write every waiting line that the file system takes; never raises."""
        if self._closed or not self._buffer:
            return
        try:
            self._flush()
        except OSError as exc:
            self.write_errors += 1
            self._retry_at = time.monotonic() + self.RETRY_SECONDS
            if not self._failing:
                log.error(
                    "request log %s: cannot write (%s); %d lines wait and will be "
                    "written when it can",
                    self.path,
                    exc,
                    len(self._buffer),
                )
            self._failing = True
            self._trim()
            return
        if self._failing:
            log.warning("request log %s: writing again", self.path)
            self._failing = False

    def _flush(self) -> None:
        for attempt in range(2):
            self._follow()
            written: list[bytes] = []  # the lines this attempt put in the open file
            while self._buffer:
                if (
                    self.max_bytes
                    and self._offset == 0
                    and self._size > 0
                    and self._size + len(self._buffer[0]) > self.max_bytes
                ):
                    self._rotate()
                    written = []  # those are in path.1 now: kept
                written += self._write_chunk()
            assert self._file is not None  # _follow opened it, and a failed reopen raised
            if not written or os.fstat(self._file.fileno()).st_nlink > 0:
                return
            # The file was removed while being written: its lines are gone, write them again.
            self._buffer[:0] = written
            self._offset = 0
            if attempt == 0:
                log.warning(
                    "request log %s was removed while being written; writing %d "
                    "lines again to a new file",
                    self.path,
                    len(written),
                )

    def _write_chunk(self) -> list[bytes]:
        """Write, in one call, the waiting lines that fit in the current file; returns the
        lines now completely written (a partial write leaves the rest waiting)."""
        buffer = self._buffer
        count = len(buffer)
        if self.max_bytes and self._size + sum(map(len, buffer)) - self._offset > self.max_bytes:
            count, size = 1, self._size + len(buffer[0]) - self._offset
            while count < len(buffer) and size + len(buffer[count]) <= self.max_bytes:
                size += len(buffer[count])
                count += 1
        lines = buffer[:count]
        chunk = memoryview(b"".join(lines))[self._offset :]
        assert self._file is not None  # the caller's _follow opened it
        done = self._file.write(chunk) or 0
        if not done:
            raise OSError(errno.ENOSPC, "the file took no bytes")
        self._size += done
        if done == len(chunk):  # the usual case: everything written
            del buffer[:count]
            self._offset = 0
            return lines
        done += self._offset
        finished = 0
        while done >= len(buffer[finished]):
            done -= len(buffer[finished])
            finished += 1
        del buffer[:finished]
        self._offset = done
        return lines[:finished]

    def _rotate(self) -> None:
        self._drop_file()
        try:
            for index in range(self.backups - 1, 0, -1):
                older = self.path.with_name(f"{self.path.name}.{index}")
                if older.exists():
                    os.replace(older, self.path.with_name(f"{self.path.name}.{index + 1}"))
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        except FileNotFoundError:
            pass  # removed by someone else meanwhile: nothing to keep
        finally:
            self._open()

    def _trim(self) -> None:
        """Drop the oldest waiting lines beyond ``MAX_PENDING_BYTES``."""
        total = sum(map(len, self._buffer))
        drop = 0
        while total > self.MAX_PENDING_BYTES and drop < len(self._buffer):
            total -= len(self._buffer[drop])
            drop += 1
        if drop:
            del self._buffer[:drop]
            self._offset = 0
            self.dropped_lines += drop
            log.error(
                "request log %s: %d lines dropped (more than %d bytes waited)",
                self.path,
                drop,
                self.MAX_PENDING_BYTES,
            )

    def close(self) -> None:
        if not self._closed:
            self.flush()
            self._closed = True
            self._drop_file()
            if self._buffer:
                self.dropped_lines += len(self._buffer)
                log.error(
                    "request log %s: %d lines could not be written before shutdown",
                    self.path,
                    len(self._buffer),
                )
                self._buffer = []


class StdoutRequestLog(RequestLog):
    """The same JSON lines, batched the same way, on standard output: no rotation and no
    file to follow (whoever reads the stream keeps it). A closed pipe counts as a write
    error, and its lines wait as on a full disk."""

    def __init__(self):
        super().__init__("<stdout>", max_bytes=0, backups=1)

    def _open(self) -> None:
        # Unbuffered on file descriptor 1 (left open on close): ``write`` reports how many
        # bytes the pipe took, as for a file.
        self._file = open(sys.stdout.fileno(), "wb", buffering=0, closefd=False)  # noqa: SIM115
        self._size = self._offset = 0

    def _follow(self) -> None:
        if self._file is None:
            self._open()

    def _flush(self) -> None:
        self._follow()
        while self._buffer:
            self._write_chunk()
