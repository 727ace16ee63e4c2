"""The request log holds on when its file is removed, renamed or its disk fills: no request
fails, and every line that could be written is, in order, exactly once.

The first tests drive ``RequestLog`` in this process (a full disk injected at the file-object
boundary, where the log opens its file); the last ones run the real service under concurrent
load on 127.0.0.1, one of them on a real, tiny tmpfs when this machine lets us mount one.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from panier_service.observability import RequestLog
from service_support import Service, train_lines, write_model


def record(i: int) -> dict:
    return {"request_id": f"r{i:05d}", "basket": ["10001", "10002"], "k": 5}


def ids(*paths: Path) -> list[str]:
    return [
        json.loads(line)["request_id"] for path in paths for line in path.read_text().splitlines()
    ]


def test_a_removed_live_file_is_replaced_and_logging_goes_on(tmp_path: Path):
    log = RequestLog(tmp_path / "requests.jsonl", max_bytes=0, backups=1)
    log.write(record(0))
    log.flush()
    (tmp_path / "requests.jsonl").unlink()
    for i in range(1, 4):
        log.write(record(i))
    log.close()
    assert ids(tmp_path / "requests.jsonl") == ["r00001", "r00002", "r00003"]


def test_a_renamed_live_file_keeps_its_lines_and_a_new_one_takes_the_rest(tmp_path: Path):
    log = RequestLog(tmp_path / "requests.jsonl", max_bytes=0, backups=1)
    log.write(record(0))
    log.flush()
    (tmp_path / "requests.jsonl").rename(tmp_path / "archived.jsonl")
    log.write(record(1))
    log.close()
    assert ids(tmp_path / "archived.jsonl") == ["r00000"]
    assert ids(tmp_path / "requests.jsonl") == ["r00001"]


def test_rotation_after_the_live_file_was_removed_neither_fails_nor_stops_the_log(tmp_path: Path):
    line = len(json.dumps(record(0), separators=(",", ":"))) + 1
    log = RequestLog(tmp_path / "requests.jsonl", max_bytes=3 * line, backups=2)
    for i in range(2):
        log.write(record(i))
    log.flush()
    (tmp_path / "requests.jsonl").unlink()
    for i in range(2, 12):  # enough to rotate twice
        log.write(record(i))
        log.flush()
    log.close()
    files = [tmp_path / name for name in ("requests.jsonl.2", "requests.jsonl.1", "requests.jsonl")]
    # 2..11 after the removal, three lines a file: [2-4] rotated away, [5-7], [8-10], [11]
    assert ids(*files) == [f"r{i:05d}" for i in range(5, 12)]


class FullDisk:
    """A file system with ``free`` bytes left: writes beyond it are cut short, then refused
    with ENOSPC, as a real full disk does."""

    def __init__(self, free: int):
        self.free = free
        self.refused = 0

    def open(self, path: Path):
        disk, raw = self, open(path, "ab", buffering=0)  # noqa: SIM115

        class File:
            def write(self, data) -> int:
                if disk.free <= 0:
                    disk.refused += 1
                    raise OSError(errno.ENOSPC, "No space left on device")
                taken = raw.write(bytes(data[: disk.free]))
                disk.free -= taken
                return taken

            def __getattr__(self, name):
                return getattr(raw, name)

        return File()


def logging_to(disk: FullDisk, path: Path, **kwargs) -> RequestLog:
    class OnThatDisk(RequestLog):
        def _open_file(self, path: Path):
            return disk.open(path)

    return OnThatDisk(path, max_bytes=kwargs.get("max_bytes", 0), backups=2)


def test_a_full_disk_keeps_lines_waiting_and_writes_them_once_in_order_later(tmp_path: Path):
    line = len(RequestLog.encode(record(0)))
    disk = FullDisk(free=2 * line + line // 2)  # two and a half lines
    log = logging_to(disk, tmp_path / "requests.jsonl")
    for i in range(10):
        log.write(record(i))
    log.flush()  # does not raise
    assert disk.refused == 1 and log.write_errors == 1 and log.pending_lines == 8
    written = (tmp_path / "requests.jsonl").read_bytes()
    assert written.startswith(b"".join(RequestLog.encode(record(i)) for i in range(2)))
    log.write(record(10))
    log.flush()
    assert log.pending_lines == 9
    disk.free = 10_000  # space freed
    log.write(record(11))
    log.close()
    # The line cut by the full disk was completed, not repeated: every line parses.
    assert ids(tmp_path / "requests.jsonl") == [f"r{i:05d}" for i in range(12)]
    assert log.dropped_lines == 0


def test_when_too_much_waits_the_oldest_lines_are_dropped_and_counted(tmp_path: Path):
    disk = FullDisk(free=0)
    log = logging_to(disk, tmp_path / "requests.jsonl")
    log.MAX_PENDING_BYTES = 1000
    for i in range(30):
        log.write(record(i))
    log.flush()
    assert log.dropped_lines > 0 and log.pending_lines == 30 - log.dropped_lines
    disk.free = 10_000
    log.close()
    kept = ids(tmp_path / "requests.jsonl")
    assert kept == [f"r{i:05d}" for i in range(log.dropped_lines, 30)]


def test_lines_written_into_a_file_removed_meanwhile_are_written_again(tmp_path: Path):
    path = tmp_path / "requests.jsonl"

    class RemovedWhileWriting(RequestLog):
        removals = 1

        def _open_file(self, target: Path):
            raw, owner = open(target, "ab", buffering=0), self  # noqa: SIM115

            class File:
                def write(self, data) -> int:
                    if owner.removals:  # another tool deletes the file as we write to it
                        owner.removals -= 1
                        target.unlink()
                    return raw.write(data)

                def __getattr__(self, name):
                    return getattr(raw, name)

            return File()

    log = RemovedWhileWriting(path, max_bytes=0, backups=1)
    for i in range(3):
        log.write(record(i))
    log.close()
    assert ids(path) == ["r00000", "r00001", "r00002"]


# --- the real service under load ------------------------------------------------------------


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return write_model(tmp_path_factory.mktemp("model"), train_lines(1500))


def load(
    service: Service, n_threads: int, per_thread: int, events: dict | None = None
) -> tuple[list[str], list[int]]:
    """Send ``n_threads * per_thread`` requests from concurrent threads; ``events`` maps an
    answered count to a function run (once) when that many requests were answered. Returns
    the request ids of the 200 answers and the status of every answer."""
    answered, statuses, lock = [], [], threading.Lock()
    pending = dict(sorted((events or {}).items()))

    def client(t: int) -> None:
        for i in range(per_thread):
            reply = service.recommend([str(10001 + (t * 7 + i) % 40)], k=3)
            with lock:
                statuses.append(reply.status)
                if reply.status == 200:
                    answered.append(reply.json()["request_id"])
                due = [n for n in pending if len(statuses) >= n]
                actions = [pending.pop(n) for n in due]
            for action in actions:
                action()

    threads = [threading.Thread(target=client, args=(t,)) for t in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answered, statuses


def test_every_answered_request_is_logged_when_the_live_file_is_removed_and_renamed_under_load(
    model_dir: Path, tmp_path: Path
):
    logs = tmp_path / "logs"
    live = logs / "requests.jsonl"
    held: list[int] = []

    def remove():  # a cleanup job deletes the live file; we keep a handle to read it back
        held.append(os.open(live, os.O_RDONLY))
        live.unlink()

    def rename():  # another tool's rotation, once the service has made a new live file
        deadline = time.monotonic() + 10
        while not live.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        live.rename(logs / "moved-away.jsonl")

    with Service("--model", str(model_dir), "--request-log", str(live)) as service:
        service.recommend(["10001"])  # the log file exists from here on
        time.sleep(0.5)
        answered, statuses = load(
            service, n_threads=4, per_thread=100, events={130: remove, 270: rename}
        )
        assert service.get("/health").status == 200
    stderr = service.stderr
    assert statuses and all(status == 200 for status in statuses), sorted(set(statuses))
    assert "Traceback" not in stderr
    assert stderr.count("was removed or renamed; writing to a new file") == 2
    logged = []
    for fd in held:
        os.lseek(fd, 0, os.SEEK_SET)
        with os.fdopen(fd, "rb") as removed:
            logged += [json.loads(line)["request_id"] for line in removed.read().splitlines()]
    logged += ids(*sorted(logs.glob("*.jsonl*")))
    assert set(answered) <= set(logged), f"{len(set(answered) - set(logged))} not logged"
    assert len(answered) == 4 * 100


def test_a_full_disk_fails_no_request_and_the_lines_are_written_once_space_is_back(
    model_dir: Path, tmp_path: Path
):
    mount = tmp_path / "small-disk"
    mount.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(
            "cannot mount a tmpfs here (needs root); the injected full-disk test "
            f"above covers the logic: {mounted.stderr.strip()}"
        )
    try:
        live = mount / "requests.jsonl"
        with Service("--model", str(model_dir), "--request-log", str(live)) as service:
            filler = mount / "filler"
            with filler.open("wb", buffering=0) as handle:  # fill the disk to the last byte
                try:
                    while handle.write(b"x" * 512):
                        pass
                except OSError:
                    pass
            answered, statuses = load(service, n_threads=4, per_thread=60)
            time.sleep(1.0)
            assert service.metric("panier_request_log_write_errors") > 0
            assert service.metric("panier_request_log_pending_lines") > 0
            filler.unlink()
            time.sleep(2.0)  # failed writes retry after a second
            assert service.metric("panier_request_log_pending_lines") == 0
            assert service.metric("panier_request_log_dropped_lines") == 0
            logged = ids(live)
        assert all(status == 200 for status in statuses), sorted(set(statuses))
        # Once each, none torn (every line parses), none lost.
        assert sorted(logged) == sorted(answered) and len(answered) == 4 * 60
    finally:
        subprocess.run(["umount", str(mount)], check=False)
