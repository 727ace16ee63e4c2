"""Champion versus challenger: is the model just trained at least as good as the one serving?

The champion is the version of the model in a registry stage (``gate.stage``, default
``prod``); the challenger is ``models/``, the train stage's output. Both answer the same
leave-one-out cases (``evaluation``) of the same window of validated data, with the
same seed, as the serving application would (rules first, then the most popular items),
and the challenger is blessed by an explicit rule (``gate`` in ``params.yaml``):

- hit rate@primary_k: the lower end of the paired bootstrap interval of the difference
  (challenger minus champion, resampling the cases) is not below ``-hit_rate_margin``;
- coverage@primary_k (the share of the window's items ever recommended) does not drop by
  more than ``coverage_margin``;
- the share of cases no rule answers (the popularity fallback alone) does not rise by more
  than ``no_recommendation_margin``.

With no champion (a fresh clone, no registry tag, nothing in the stage) the challenger is
accepted as the first version: a defined outcome, written like any other.

Which champion the gate compares with is a file in git, ``data/champion.json`` (version,
commit and the md5 of each model file), a dependency of the stage: ``panier gate
champion`` resolves the stage in the registry, fetches the files into ``data/champion/``
(from the local DVC cache or the remote) and rewrites the file. So ``dvc status`` tells the
truth (a new champion changes a dependency) and the stage itself never reads the registry
nor the network: same commit, same outputs.

Everything but ``record_champion`` and the command line is pure: tables in, figures out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from panier.core import markdown, paths
from panier.core.config import GateParams
from panier.core.errors import DataError, PanierError
from panier.core.evaluation import Cases
from panier.core.io import file_md5
from panier.core.recommend import PopularityRecommender, RuleRecommender

ARTIFACT = "basket-rules"
MODEL_FILES = ("rules.parquet", "items.parquet", "model_card.json")


class GateRefused(PanierError):
    """The challenger failed the gate and ``gate.fail_on_refusal`` is true."""


# ---------------------------------------------------------------------------------------
# Figures of one model.


@dataclass(frozen=True)
class Figures:
    """What a model does on the gate's cases: ``hits`` (one 0/1 per case: the hidden item is
    in the top k), hit rate, coverage and the share of cases no rule answers."""

    hits: np.ndarray
    hit_rate: float
    coverage: float
    no_recommendation_share: float
    rules: int

    def summary(self, k: int) -> dict[str, float | int]:
        return {
            f"hit_rate@{k}": self.hit_rate,
            f"coverage@{k}": self.coverage,
            "no_recommendation_share": self.no_recommendation_share,
            "rules": self.rules,
        }


def model_figures(
    rules: pd.DataFrame, items: pd.DataFrame, cases: Cases, k: int, catalog: int
) -> Figures:
    """Answer every case with ``rules`` (a rules table) then the popularity ranking of
    ``items`` (an items table: ``item_code``, ``baskets``), like the serving application.
    ``catalog`` is the number of distinct items of the window: coverage's denominator, the
    same for both models."""
    by_rules = RuleRecommender(rules)
    popular = PopularityRecommender(items.set_index("item_code")["baskets"])
    hits = np.zeros(len(cases), dtype=np.int8)
    recommended: set[str] = set()
    unanswered = 0
    for i, (visible, hidden) in enumerate(zip(cases.visible, cases.hidden)):
        ranked = by_rules.recommend(visible, k)
        if not ranked:
            unanswered += 1
        if len(ranked) < k:
            ranked += popular.recommend([*visible, *ranked], k - len(ranked))
        recommended.update(ranked)
        hits[i] = hidden in ranked
    n = len(cases)
    return Figures(
        hits=hits,
        hit_rate=float(hits.mean()) if n else 0.0,
        coverage=len(recommended) / catalog if catalog else 0.0,
        no_recommendation_share=unanswered / n if n else 0.0,
        rules=len(rules),
    )


def paired_bootstrap(
    challenger: np.ndarray, champion: np.ndarray, samples: int, seed: int, confidence: float
) -> tuple[float, float, float]:
    """Mean of ``challenger - champion`` (per-case scores of the same cases) and its
    percentile bootstrap interval at ``confidence``: cases are resampled with replacement,
    the same draw for both models. Returns ``(difference, low, high)``."""
    diff = challenger.astype(np.float64) - champion.astype(np.float64)
    if diff.size == 0:
        return 0.0, 0.0, 0.0
    rng = np.random.default_rng(seed)
    means = np.empty(samples)
    chunk = max(1, 2_000_000 // diff.size)  # bound memory: about 16 MB of indices at a time
    for start in range(0, samples, chunk):
        stop = min(samples, start + chunk)
        draws = rng.integers(0, diff.size, size=(stop - start, diff.size))
        means[start:stop] = diff[draws].mean(axis=1)
    alpha = 1.0 - confidence
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(diff.mean()), float(low), float(high)


# ---------------------------------------------------------------------------------------
# The decision.


def decide(
    challenger: Figures,
    champion: Figures | None,
    params: GateParams,
    k: int,
    champion_info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The verdict, as written to ``metrics/gate.json``: ``passed``, ``decision``
    (``accepted``, ``accepted_first_version`` or ``refused``), ``reasons`` (why, one
    sentence each), ``checks`` (each rule with its figures), both models' figures and the
    rule's params. ``champion_info`` names the champion (version, commit)."""
    rule = {
        "hit_rate_margin": params.hit_rate_margin,
        "coverage_margin": params.coverage_margin,
        "no_recommendation_margin": params.no_recommendation_margin,
        "bootstrap_samples": params.bootstrap_samples,
        "bootstrap_seed": params.bootstrap_seed,
        "confidence_level": params.confidence_level,
        "primary_k": k,
    }
    result: dict[str, Any] = {
        "cases": int(challenger.hits.size),
        "rule": rule,
        "challenger": challenger.summary(k),
        "champion": None if champion is None else {**(champion_info or {}), **champion.summary(k)},
    }
    if champion is None:
        result.update(
            passed=True,
            decision="accepted_first_version",
            checks=[],
            reasons=[
                f"no champion in registry stage '{params.stage}': the challenger is accepted "
                "as the first version"
            ],
        )
        return result
    level = f"{params.confidence_level:.0%}"
    diff, low, high = paired_bootstrap(
        challenger.hits,
        champion.hits,
        params.bootstrap_samples,
        params.bootstrap_seed,
        params.confidence_level,
    )
    hit_ok = low >= -params.hit_rate_margin
    coverage_drop = champion.coverage - challenger.coverage
    coverage_ok = coverage_drop <= params.coverage_margin
    unanswered_rise = challenger.no_recommendation_share - champion.no_recommendation_share
    unanswered_ok = unanswered_rise <= params.no_recommendation_margin
    checks = [
        {
            "name": f"hit_rate@{k}",
            "passed": hit_ok,
            "difference": diff,
            "interval": [low, high],
            "limit": -params.hit_rate_margin,
            "detail": (
                f"hit rate@{k} {challenger.hit_rate:.4f} vs champion "
                f"{champion.hit_rate:.4f}: difference {diff:+.4f}, {level} interval "
                f"[{low:+.4f}, {high:+.4f}] "
                + ("stays above" if hit_ok else "goes below")
                + f" -{params.hit_rate_margin:g}"
            ),
        },
        {
            "name": f"coverage@{k}",
            "passed": coverage_ok,
            "difference": -coverage_drop,
            "limit": -params.coverage_margin,
            "detail": (
                f"coverage@{k} {challenger.coverage:.4f} vs champion "
                f"{champion.coverage:.4f}: "
                + (f"drop {coverage_drop:.4f} " if coverage_drop > 0 else "no drop ")
                + ("within" if coverage_ok else "beyond")
                + f" the margin {params.coverage_margin:g}"
            ),
        },
        {
            "name": "no_recommendation_share",
            "passed": unanswered_ok,
            "difference": unanswered_rise,
            "limit": params.no_recommendation_margin,
            "detail": (
                f"cases no rule answers {challenger.no_recommendation_share:.4f} vs "
                f"champion {champion.no_recommendation_share:.4f}: "
                + (f"rise {unanswered_rise:.4f} " if unanswered_rise > 0 else "no rise ")
                + ("within" if unanswered_ok else "beyond")
                + f" the margin {params.no_recommendation_margin:g}"
            ),
        },
    ]
    passed = all(c["passed"] for c in checks)
    failed = [c["detail"] for c in checks if not c["passed"]]
    result.update(
        passed=passed,
        decision="accepted" if passed else "refused",
        checks=checks,
        reasons=failed
        or [
            f"the challenger is not worse than champion "
            f"{(champion_info or {}).get('version', '')} past any "
            "margin".replace("  ", " ")
        ],
    )
    return result


#: The verdict's words for each decision of ``decide``.
VERDICTS = {
    "accepted": "**passed**: the challenger may replace the champion",
    "accepted_first_version": "**passed** (no champion: first version)",
    "refused": "**refused**: keep the champion",
}


def render_markdown(gate: dict[str, Any] | None) -> str:
    """The gate's section of the pull-request comment and ``metrics/gate.md``, from the
    verdict of ``decide`` (``metrics/gate.json``); empty without one. Template:
    ``templates/gate.md``."""
    if not gate:
        return ""
    k = gate.get("rule", {}).get("primary_k", 5)
    champion = gate.get("champion")
    figures = (f"hit_rate@{k}", f"coverage@{k}", "no_recommendation_share", "rules")
    rows = [
        [
            name,
            "-" if not champion else _number(champion.get(name)),
            _number(gate["challenger"].get(name)),
        ]
        for name in figures
    ]
    checks = gate.get("checks", [])
    bullets = [f"{'pass' if c['passed'] else '**FAIL**'}: {c['detail']}" for c in checks]
    if not checks:
        bullets += gate.get("reasons", [])
    bullets += [f"note: {note}" for note in gate.get("notes", [])]
    decision = str(gate.get("decision"))  # from JSON: a known decision's str() is itself
    return markdown.render(
        __package__,
        "gate.md",
        verdict=VERDICTS.get(decision, decision),
        cases=f"{gate.get('cases', 0):,}",
        window=str(gate.get("window", "?")),
        stage=str(gate.get("stage")),
        champion=champion
        and {"version": str(champion.get("version")), "commit": str(champion.get("commit"))[:7]},
        rows=rows,
        bullets=bullets,
    )


def _number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.4f}"


# ---------------------------------------------------------------------------------------
# The champion: which version (data/champion.json) and its files (data/champion/).


def no_champion_pointer(stage: str, why: str) -> dict[str, Any]:
    return {"artifact": ARTIFACT, "stage": stage, "champion": None, "why": why}


def read_pointer(path: Path = paths.CHAMPION_POINTER) -> dict[str, Any]:
    """``data/champion.json``; a missing file means no champion (stage ``prod``)."""
    if not path.is_file():
        return no_champion_pointer("prod", f"{path} does not exist")
    try:
        pointer = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path} is not valid JSON ({exc}): rewrite it with `python -m "
            "panier.stages.gate.gate champion`"
        ) from None
    if not isinstance(pointer, dict) or "champion" not in pointer:
        raise DataError(
            f"{path} has no 'champion' key: rewrite it with `python -m "
            "panier.stages.gate.gate champion`"
        )
    return pointer


def champion_files(
    pointer: dict[str, Any], folder: Path = paths.CHAMPION_DIR
) -> dict[str, Path] | None:
    """The champion's files in ``folder``, checked against the md5s of the pointer; ``None``
    when the pointer names no champion. A missing or different file is an error saying how
    to fetch it."""
    champion = pointer.get("champion")
    if champion is None:
        return None
    found = {}
    for name in MODEL_FILES:
        expected = champion.get("files", {}).get(name)
        target = folder / name
        actual = file_md5(target) if target.is_file() else None
        if expected is None or actual != expected:
            what = "is missing" if actual is None else f"hashes to {actual}, not {expected}"
            raise DataError(
                f"{target} {what} (champion {champion.get('version')} of stage "
                f"'{pointer.get('stage')}', {paths.CHAMPION_POINTER}): run `panier gate "
                "champion` to fetch it from the DVC cache or remote, or `panier gate champion "
                "--none` to gate without a champion"
            )
        found[name] = target
    return found
