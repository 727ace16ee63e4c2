"""Reloading a new model version is atomic: requests see the old model or the new one, never a
mix, and a broken model is refused while the old one keeps serving."""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest

from panier_service.artifact import load_model
from service_support import Service, train_lines, write_model

TOKEN = "test-token"


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """Two models trained on different data, and a broken one (unknown schema version)."""
    root = tmp_path_factory.mktemp("models")
    a = write_model(root / "a", train_lines(2500, seed=1))
    b = write_model(root / "b", train_lines(2500, seed=2), min_confidence=0.2)
    broken = Path(shutil.copytree(a, root / "broken"))
    card = json.loads((broken / "model_card.json").read_text())
    card["schema_version"] = 2
    (broken / "model_card.json").write_text(json.dumps(card))
    return {"a": a, "b": b, "broken": broken}


def point(link: Path, target: Path) -> None:
    """Re-point a symlink atomically: how a deployment swaps the model folder."""
    scratch = link.with_name(link.name + ".new")
    scratch.symlink_to(target)
    os.replace(scratch, link)


@pytest.fixture
def current(models, tmp_path) -> Path:
    link = tmp_path / "current"
    link.symlink_to(models["a"])
    return link


def serve(link: Path, tmp_path: Path) -> Service:
    env = {**os.environ, "PANIER_ADMIN_TOKEN": TOKEN}
    return Service("--model", str(link), "--request-log", str(tmp_path / "requests.jsonl"), env=env)


def wait_until(check, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def reload(service: Service, token: str | None = TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return service.request("POST", "/admin/reload", b"", headers)


def test_sighup_loads_the_new_folder(models, current, tmp_path):
    version_a, version_b = load_model(models["a"]).version, load_model(models["b"]).version
    with serve(current, tmp_path) as service:
        assert service.get("/health").json()["model_version"] == version_a
        point(current, models["b"])
        service.signal(signal.SIGHUP)
        wait_until(lambda: service.get("/health").json()["model_version"] == version_b)
        assert service.metric("panier_model_reloads_total", result="loaded") == 1
        assert service.get("/version").json()["model"]["model_version"] == version_b


def test_a_broken_model_is_refused_and_the_old_one_keeps_serving(models, current, tmp_path):
    version_a = load_model(models["a"]).version
    with serve(current, tmp_path) as service:
        point(current, models["broken"])
        service.signal(signal.SIGHUP)
        wait_until(lambda: service.metric("panier_model_reloads_total", result="refused") == 1)
        assert service.get("/health").json()["model_version"] == version_a
        assert service.recommend([load_model(models["a"]).popular[0]]).status == 200
        refusal = service.get("/version").json()["last_refused_reload"]
        assert "schema_version 2 is not supported" in refusal

        reply = reload(service)
        assert reply.status == 409
        assert reply.json()["error"].startswith(f"reload refused, still serving {version_a}:")
        assert reply.json()["model_version"] == version_a
        assert service.metric("panier_model_reloads_total", result="refused") == 2


def test_reload_over_http_needs_the_token(models, current, tmp_path):
    with serve(current, tmp_path) as service:
        assert reload(service, token=None).status == 403
        assert "Authorization: Bearer" in reload(service, token="wrong").json()["error"]
        point(current, models["b"])
        reply = reload(service)
        assert reply.status == 200
        assert reply.json() == {
            "reloaded": True,
            "previous_version": load_model(models["a"]).version,
            "model_version": load_model(models["b"]).version,
        }


def test_reload_over_http_is_off_without_a_token(models, tmp_path):
    with Service("--model", str(models["a"]), "--no-request-log") as service:
        reply = reload(service)
        assert reply.status == 403 and "PANIER_ADMIN_TOKEN" in reply.json()["error"]


def test_requests_during_reloads_see_one_whole_model(models, current, tmp_path):
    """Clients hammer the service while the model flips between A and B twenty times: every
    answer is exactly the answer of the version it names."""
    a, b = load_model(models["a"]), load_model(models["b"])
    baskets = [[code] for code in a.popular[:40] if code in b.items]
    expected = {
        m.version: {
            tuple(basket): [s.item_code for s in m.recommend(basket, 5).suggestions]
            for basket in baskets
        }
        for m in (a, b)
    }
    assert expected[a.version] != expected[b.version]  # else the test could not fail

    answers: list[tuple[str, tuple, list[str]]] = []
    failures: list[str] = []
    stop = threading.Event()

    def client(service: Service, offset: int) -> None:
        i = offset
        while not stop.is_set():
            basket = baskets[i % len(baskets)]
            reply = service.recommend(basket, k=5)
            if reply.status != 200:
                failures.append(f"{reply.status}: {reply.body[:200]!r}")
                continue
            body = reply.json()
            answers.append(
                (
                    body["model_version"],
                    tuple(basket),
                    [r["item_code"] for r in body["recommendations"]],
                )
            )
            i += 1

    with serve(current, tmp_path) as service:
        clients = [threading.Thread(target=client, args=(service, n)) for n in range(4)]
        for thread in clients:
            thread.start()
        try:
            for flip in range(20):
                point(current, models["b" if flip % 2 == 0 else "a"])
                assert reload(service).status == 200
                time.sleep(0.05)
        finally:
            stop.set()
            for thread in clients:
                thread.join()
        assert service.metric("panier_model_reloads_total", result="loaded") == 20

    assert not failures
    assert len(answers) >= 100
    seen = {version for version, _, _ in answers}
    assert seen == {a.version, b.version}
    wrong = [(v, basket, got) for v, basket, got in answers if got != expected[v][basket]]
    assert not wrong, f"{len(wrong)} of {len(answers)} answers mixed versions: {wrong[:3]}"
