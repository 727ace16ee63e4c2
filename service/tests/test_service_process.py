"""The one test of the real server: ``python -m panier_service`` under uvicorn, on a port the
system picks (``--port 0``, read back from uvicorn's start line). What only a process shows:
settings from its environment, the request log on standard output, a reload on SIGHUP, and
a graceful stop. The API itself is tested in process (test_service_api.py)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from clients import ServiceProcess, wait_until
from model_files import shopping_baskets, write_model
from panier_service.artifact import load_model


def test_the_server_starts_answers_reloads_on_sighup_and_logs_to_stdout(tmp_path: Path):
    a = write_model(tmp_path / "a", shopping_baskets(1500, seed=1))
    b = write_model(tmp_path / "b", shopping_baskets(1500, seed=2), min_confidence=0.2)
    current = tmp_path / "current"
    current.symlink_to(a)
    version_a, version_b = load_model(a).version, load_model(b).version
    env = {
        **os.environ,
        "PANIER_SERVICE_MODEL": str(current),
        "PANIER_SERVICE_MAX_K": "7",
        "PANIER_SERVICE_REQUEST_LOG": str(tmp_path / "unused.jsonl"),
    }

    with ServiceProcess("--request-log", "-", env=env) as service:  # the flag wins
        assert service.port and service.port != 0
        assert service.get("/health").json() == {"status": "ok", "model_version": version_a}
        sent = [
            service.recommend([code], k=3).json()["request_id"]
            for code in load_model(a).popular[:5]
        ]
        assert service.recommend(["10000"], k=8).status == 422  # max_k from the environment

        current.unlink()
        current.symlink_to(b)
        service.signal(signal.SIGHUP)
        wait_until(lambda: service.get("/health").json()["model_version"] == version_b)
        assert service.recommend(["10000"], k=3).json()["model_version"] == version_b
    # A graceful stop: uvicorn re-raises the SIGTERM it handled once it has shut down.
    assert service.process.returncode in (0, -signal.SIGTERM)
    assert "Traceback" not in service.stderr
    assert f"reloaded: now serving {version_b} (was {version_a})" in service.stderr

    records = [json.loads(line) for line in service.stdout().splitlines()]
    assert [r["request_id"] for r in records[:5]] == sent
    assert [r["model_version"] for r in records] == [version_a] * 5 + [version_b]
    assert not (tmp_path / "unused.jsonl").exists()
