"""`panier check` and the check-params stage: what would hang DVC, or make it print a
secret, is refused before DVC reads it, in one line naming the param and the fix."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from panier.core.config import load_params
from panier.core.errors import ConfigError
from panier.stages.check_params import check

SECRET = "s3cr3tpw-do-not-print"
BOMB = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]"
        for i in range(8)
    ]
    + ["ingest: {path: *i}"]
)  # 9^9 = 387 million strings once expanded


def run_check(tmp_path: Path, monkeypatch, capsys, text: str) -> tuple[int, list[str], str]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text(text)
    code = check.main([])
    captured = capsys.readouterr()
    return code, captured.err.splitlines(), captured.out


def params_text(**ingest) -> str:
    return yaml.safe_dump({"ingest": ingest})


def test_valid_params_pass_in_one_line(tmp_path, monkeypatch, capsys):
    code, err, out = run_check(tmp_path, monkeypatch, capsys, params_text())
    assert code == 0 and err == []
    assert out.count("\n") == 1 and "params.yaml: valid" in out


def test_a_yaml_anchor_bomb_is_refused_without_expanding_it(tmp_path, monkeypatch, capsys):
    started = time.perf_counter()
    code, err, _ = run_check(tmp_path, monkeypatch, capsys, BOMB)
    assert time.perf_counter() - started < 5
    assert code == 1 and len(err) == 1
    assert err[0].startswith("check failed: params.yaml uses more than 50 YAML aliases")
    with pytest.raises(ConfigError, match="YAML aliases"):  # every stage refuses it too
        load_params(tmp_path / "params.yaml")


def test_an_oversized_params_file_is_refused_unread(tmp_path, monkeypatch, capsys):
    code, err, _ = run_check(tmp_path, monkeypatch, capsys, params_text() + "# padding\n" * 200_000)
    assert code == 1 and len(err) == 1 and "larger than 1,000,000 bytes" in err[0]


def test_an_empty_ingest_path_is_named(tmp_path, monkeypatch, capsys):
    code, err, _ = run_check(tmp_path, monkeypatch, capsys, params_text(source="file", path=""))
    assert code == 1 and len(err) == 1
    assert "ingest.path is empty" in err[0]


def test_a_device_file_as_ingest_path_is_refused(tmp_path, monkeypatch, capsys):
    code, err, _ = run_check(
        tmp_path, monkeypatch, capsys, params_text(source="file", path="/dev/zero")
    )
    assert code == 1 and len(err) == 1
    assert "ingest.path '/dev/zero' is a device, pipe or socket" in err[0]


@pytest.mark.parametrize(
    "path",
    [
        f"http://user:{SECRET}@127.0.0.1:9/x.csv",
        f"https://{SECRET}@127.0.0.1:9/x.csv",
        f"https://127.0.0.1:9/x.csv?X-Amz-Signature={SECRET}",
    ],
)
def test_a_credential_in_ingest_path_is_refused_and_not_repeated(
    tmp_path, monkeypatch, capsys, path
):
    code, err, out = run_check(tmp_path, monkeypatch, capsys, params_text(source="url", path=path))
    assert code == 1 and len(err) == 1
    assert "ingest.path must not hold credentials" in err[0]
    assert SECRET not in err[0] + out
