"""The HTTP API, in process (the application ``panier-serve`` builds, driven by a test
client): recommendations with evidence, health, version, metrics, OpenAPI and its offline
docs page, the request log, and bad input that gets a clear 4xx while the service keeps
serving. test_service_process.py runs the real server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from clients import InProcess, read_log, wait_until
from model_files import shopping_baskets, write_model
from panier_service.__main__ import main
from panier_service.artifact import load_model

LOG_KEYS = {
    "time",
    "request_id",
    "basket",
    "k",
    "recommended",
    "fallback",
    "model_version",
    "unknown",
}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return write_model(tmp_path_factory.mktemp("model"), shopping_baskets(3000))


@pytest.fixture(scope="module")
def model(model_dir):
    return load_model(model_dir)


@pytest.fixture(scope="module")
def service(model_dir, tmp_path_factory):
    logs = tmp_path_factory.mktemp("logs")
    with InProcess(
        "--model",
        str(model_dir),
        "--request-log",
        str(logs / "requests.jsonl"),
        "--max-items",
        "100",
        "--max-k",
        "50",
    ) as running:
        running.logs = logs
        yield running


def lonely_item(model) -> str:
    """An item no rule has in its antecedent: a basket of it gets the popularity fallback."""
    return next(
        code for code in reversed(model.popular) if not model.index.best_rules(frozenset([code]))
    )


def test_recommend_ranks_items_with_the_evidence_of_each(service, model):
    best = model.index.rules[0]
    reply = service.recommend(list(best.antecedent), k=3)
    assert reply.status == 200
    body = reply.json()
    assert body["model_version"] == model.version and body["k"] == 3
    assert body["fallback"] is False and body["unknown_items"] == []
    assert body["request_id"] == reply.headers["x-request-id"]
    first = body["recommendations"][0]
    assert first["item_code"] == best.consequent and first["source"] == "rule"
    assert first["rule"] == {
        "antecedent": list(best.antecedent),
        "confidence": round(best.confidence, 6),
        "lift": round(best.lift, 6),
        "support": round(best.support, 6),
    }
    assert first["description"] == model.items[best.consequent].description
    assert first["popularity"] == round(model.items[best.consequent].support, 6)
    expected = [s.item_code for s in model.recommend(best.antecedent, 3).suggestions]
    assert [r["item_code"] for r in body["recommendations"]] == expected


def test_the_answer_is_the_models_for_many_baskets(service, model):
    for basket in shopping_baskets(60, seed=11):
        basket = [code for code in basket if code in model.items]
        if not basket:
            continue
        body = service.recommend(basket, k=5).json()
        answer = model.recommend(basket, 5)
        assert [r["item_code"] for r in body["recommendations"]] == [
            s.item_code for s in answer.suggestions
        ]
        assert [r["source"] for r in body["recommendations"]] == [
            s.source for s in answer.suggestions
        ]
        assert body["fallback"] == answer.fallback


def test_a_basket_no_rule_applies_to_gets_the_flagged_popularity_fallback(service, model):
    item = lonely_item(model)
    body = service.recommend([item], k=4).json()
    assert body["fallback"] is True
    assert [r["item_code"] for r in body["recommendations"]] == [
        c for c in model.popular if c != item
    ][:4]
    assert all(r["source"] == "popularity" and r["rule"] is None for r in body["recommendations"])


def test_k_defaults_to_five_and_duplicates_count_once(service, model):
    item = lonely_item(model)
    body = service.recommend([item, item, item]).json()
    assert body["k"] == 5 and len(body["recommendations"]) == 5
    assert item not in [r["item_code"] for r in body["recommendations"]]


def test_a_callers_request_id_is_kept_and_a_strange_one_replaced(service, model):
    payload = json.dumps({"items": [model.popular[0]]}).encode()
    headers = {"Content-Type": "application/json", "X-Request-ID": "shop-42.a_b"}
    reply = service.request("POST", "/recommend", payload, headers)
    assert reply.json()["request_id"] == reply.headers["x-request-id"] == "shop-42.a_b"
    headers["X-Request-ID"] = "no spaces <allowed>"
    reply = service.request("POST", "/recommend", payload, headers)
    assert re.fullmatch(r"[0-9a-f]{32}", reply.json()["request_id"])


def huge_body() -> bytes:
    return json.dumps({"items": [f"item-{i:06d}" for i in range(20_000)]}).encode()


JSON = {"Content-Type": "application/json"}
BAD_INPUTS = {
    "empty basket": (
        '{"items": []}',
        JSON,
        422,
        "items: the basket is empty; send at least one item code",
    ),
    "thousands of items": (
        json.dumps({"items": [str(10_000 + i) for i in range(3000)]}),
        JSON,
        422,
        "items: 3000 items; a basket may hold at most 100",
    ),
    "item of the wrong type": (
        '{"items": [10001]}',
        JSON,
        422,
        "items[0]: Input should be a valid string",
    ),
    "items not a list": ('{"items": "10001"}', JSON, 422, "items: Input should be a valid array"),
    "k as a string": (
        '{"items": ["10001"], "k": "5"}',
        JSON,
        422,
        "k: Input should be a valid integer",
    ),
    "k zero": ('{"items": ["10001"], "k": 0}', JSON, 422, "k: Input should be greater than"),
    "k too large": (
        '{"items": ["10001"], "k": 51}',
        JSON,
        422,
        "k: Input should be less than or equal to 50",
    ),
    "k a boolean": (
        '{"items": ["10001"], "k": true}',
        JSON,
        422,
        "k: Input should be a valid integer",
    ),
    "an empty item code": ('{"items": [""]}', JSON, 422, "items[0]: String should have at least"),
    "an item code too long": (
        json.dumps({"items": ["x" * 65]}),
        JSON,
        422,
        "items[0]: String should have at most 64 characters",
    ),
    "an unexpected field": (
        '{"items": ["10001"], "customer": "c-1"}',
        JSON,
        422,
        "customer: Extra inputs are not permitted",
    ),
    "no items field": ('{"k": 3}', JSON, 422, "items: missing"),
    "a JSON list": ('["10001"]', JSON, 422, "body: must be a JSON object"),
    "invalid JSON": ('{"items": ["10001"', JSON, 400, "the request body is not valid JSON"),
    "bytes that are not text": (
        b"\xff\xfe\x00garbage",
        JSON,
        400,
        "the request body is not valid JSON",
    ),
    "an empty body": ("", JSON, 400, "the request body is empty"),
    "not JSON content": (
        '{"items": ["10001"]}',
        {"Content-Type": "text/plain"},
        415,
        "send the basket as JSON with Content-Type: application/json",
    ),
    "a huge body": (huge_body(), JSON, 413, "is over the limit of 65536 bytes"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_gets_a_clear_4xx_and_the_service_keeps_serving(service, model, case):
    body, headers, status, message = BAD_INPUTS[case]
    payload = body.encode() if isinstance(body, str) else body
    reply = service.request("POST", "/recommend", payload, headers)
    assert reply.status == status, reply.body
    error = reply.json()["error"]
    assert message in error and "\n" not in error and "Traceback" not in error
    assert service.get("/health").status == 200
    assert service.recommend([model.popular[0]], k=2).status == 200


def test_a_huge_body_without_a_length_is_cut_off_too(service, model):
    def chunks():
        body = huge_body()
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    reply = service.request("POST", "/recommend", chunks(), JSON, chunked=True)
    assert reply.status == 413
    assert "is over the limit of 65536 bytes" in reply.json()["error"]
    assert service.recommend([model.popular[0]]).status == 200


def test_unknown_paths_and_methods_are_4xx(service):
    assert service.get("/nowhere").status == 404
    assert service.get("/recommend").status == 405


def test_health(service, model):
    reply = service.get("/health")
    assert reply.status == 200
    assert reply.json() == {"status": "ok", "model_version": model.version}


def test_version_names_the_model_its_data_and_params(service, model, model_dir):
    card = json.loads((model_dir / "model_card.json").read_text())
    body = service.get("/version").json()
    assert body["model"]["model_version"] == model.version
    assert body["model"]["stage"] is None
    assert body["model"]["data_fingerprint_sha256"] == card["data"]["fingerprint_sha256"]
    assert body["model"]["params"] == card["params"]
    assert body["model"]["rules"] == card["counts"]["rules"]
    assert body["model_source"] == f"path:{model_dir.resolve()}"
    assert body["service"]["name"] == "panier-service"


def test_metrics_count_requests_latency_and_fallback_answers(service, model):
    ok = service.metric(
        "panier_http_requests_total", endpoint="/recommend", method="POST", status="200"
    )
    bad = service.metric(
        "panier_http_requests_total", endpoint="/recommend", method="POST", status="422"
    )
    timed = service.metric("panier_http_request_duration_seconds_count", endpoint="/recommend")
    fallback = service.metric("panier_recommendations_total", outcome="fallback")
    service.recommend([lonely_item(model)])
    service.recommend(list(model.index.rules[0].antecedent))
    service.recommend([])
    assert (
        service.metric(
            "panier_http_requests_total", endpoint="/recommend", method="POST", status="200"
        )
        == ok + 2
    )
    assert (
        service.metric(
            "panier_http_requests_total", endpoint="/recommend", method="POST", status="422"
        )
        == bad + 1
    )
    assert (
        service.metric("panier_http_request_duration_seconds_count", endpoint="/recommend")
        == timed + 3
    )
    assert service.metric("panier_recommendations_total", outcome="fallback") == fallback + 1
    answers = sum(
        service.metric("panier_recommendations_total", outcome=o)
        for o in ("rules", "mixed", "fallback", "empty")
    )
    assert service.metric("panier_fallback_answer_ratio") == pytest.approx((fallback + 1) / answers)
    assert (
        service.metric(
            "panier_model_info",
            model_version=model.version,
            stage="",
            data_fingerprint=model.card["data"]["fingerprint_sha256"],
        )
        == 1
    )
    assert service.metric("panier_model_rules") == model.n_rules


def test_openapi_describes_every_endpoint(service):
    spec = service.get("/openapi.json").json()
    assert {"/recommend", "/health", "/version", "/metrics"} <= set(spec["paths"])
    recommend = spec["paths"]["/recommend"]["post"]
    assert recommend["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RecommendRequest"
    }
    assert {"200", "400", "413", "415", "422"} <= set(recommend["responses"])
    items = spec["components"]["schemas"]["RecommendRequest"]["properties"]["items"]
    assert items["maxItems"] == 100 and items["minItems"] == 1
    unknown = spec["components"]["schemas"]["RecommendResponse"]["properties"]["unknown_items"]
    assert "recommendations come from the other items" in unknown["description"]
    assert "--unknown-items reject" in recommend["responses"]["422"]["description"]


@pytest.mark.parametrize("path, kinds", [("/docs", {".js", ".css"}), ("/redoc", {".js"})])
def test_the_docs_pages_need_no_network(service, path, kinds):
    """Swagger UI's scripts, styles and icon, and ReDoc's script (its styles are in it) and
    icon, come from the service itself, not a CDN."""
    page = service.get(path)
    assert page.status == 200
    html = page.body.decode()
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert kinds <= {Path(a).suffix for a in assets}
    for asset in assets:
        assert asset.startswith("/") and service.get(asset).status == 200, asset


def logged_once_flushed(folder: Path, request_ids: set[str]) -> list[dict]:
    """The log's records of ``request_ids`` once all are written (the service flushes every
    0.2 s)."""

    def records() -> list[dict]:
        return [r for r in read_log(folder) if r["request_id"] in request_ids]

    wait_until(lambda: len(records()) >= len(request_ids))
    return records()


def test_the_request_log_holds_one_record_per_answer_and_nothing_else(service, model):
    baskets = [[model.popular[0], model.popular[3], model.popular[0]], [lonely_item(model)]]
    replies = [service.recommend(b, k=3).json() for b in baskets]
    service.recommend([])  # refused: not logged
    records = logged_once_flushed(service.logs, {reply["request_id"] for reply in replies})
    assert len(records) == 2
    for record, reply, basket in zip(records, replies, baskets):
        assert set(record) == LOG_KEYS
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["time"])
        assert record["request_id"] == reply["request_id"]
        assert record["basket"] == list(dict.fromkeys(basket))
        assert record["k"] == 3
        assert record["recommended"] == [r["item_code"] for r in reply["recommendations"]]
        assert record["fallback"] is reply["fallback"]
        assert record["model_version"] == model.version
        assert record["unknown"] == []


def test_the_request_log_rotates_by_size(model_dir, model, tmp_path):
    log = tmp_path / "requests.jsonl"
    with InProcess(
        "--model",
        str(model_dir),
        "--request-log",
        str(log),
        "--request-log-max-bytes",
        "2000",
        "--request-log-backups",
        "3",
    ) as service:
        sent = [service.recommend([code], k=2).json()["request_id"] for code in model.popular[:60]]
    files = sorted(p.name for p in tmp_path.glob("requests.jsonl*"))
    assert files == ["requests.jsonl", "requests.jsonl.1", "requests.jsonl.2", "requests.jsonl.3"]
    assert all((tmp_path / name).stat().st_size <= 2000 for name in files)
    kept = [r["request_id"] for r in read_log(tmp_path)]
    assert 0 < len(kept) < len(sent) and kept == sent[-len(kept) :]  # the newest, in order


def test_a_basket_with_new_products_is_answered_from_its_known_items(model_dir, model, tmp_path):
    with InProcess(
        "--model", str(model_dir), "--request-log", str(tmp_path / "r.jsonl")
    ) as service:  # the default: no flag
        known = model.popular[0]
        reply = service.recommend(["NEW-1", known, "NEW-2"], k=3)
        assert reply.status == 200
        body = reply.json()
        assert body["unknown_items"] == ["NEW-1", "NEW-2"]
        assert [r["item_code"] for r in body["recommendations"]] == [
            s.item_code for s in model.recommend([known], 3).suggestions
        ]
        only_new = service.recommend(["NEW-3"], k=2).json()
        assert only_new["unknown_items"] == ["NEW-3"] and only_new["fallback"] is True
        popular = list(model.popular[:2])
        assert [r["item_code"] for r in only_new["recommendations"]] == popular
        assert service.metric("panier_unknown_items_total") == 3
    records = read_log(tmp_path, "r.jsonl")
    assert [r["basket"] for r in records] == [["NEW-1", known, "NEW-2"], ["NEW-3"]]
    assert [r["unknown"] for r in records] == [["NEW-1", "NEW-2"], ["NEW-3"]]


def test_a_strict_service_refuses_unknown_items_with_one_message(model_dir, model, tmp_path):
    with InProcess(
        "--model",
        str(model_dir),
        "--request-log",
        str(tmp_path / "r.jsonl"),
        "--unknown-items",
        "reject",
    ) as service:
        reply = service.recommend(["99999", model.popular[0]])
        assert reply.status == 422
        error = reply.json()
        assert "unknown item code(s) 99999: not in the catalog of model" in error["error"]
        assert error["unknown_items"] == ["99999"]
        assert service.metric("panier_unknown_items_total") == 1
        assert service.recommend([model.popular[0]]).status == 200
    assert [r["basket"] for r in read_log(tmp_path, "r.jsonl")] == [[model.popular[0]]]


def test_a_model_that_cannot_load_stops_the_start_with_one_message(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--model", str(tmp_path / "missing")])
    assert stopped.value.code == 2
    stderr = capsys.readouterr().err
    assert "cannot load the model" in stderr and "no such model folder" in stderr
    assert "Traceback" not in stderr
