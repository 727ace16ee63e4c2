"""The typed drift result: one test (``DriftTest``) with its evidence and verdict."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DriftTest:
    """One test: what was compared, the evidence, and (after ``decide``) the verdict."""

    kind: str
    feature: str
    test: str
    statistic: float
    p_value: float
    effect: float
    effect_name: str
    reference: float | None = None
    current: float | None = None
    n_reference: int = 0
    n_current: int = 0
    direction: str = ""  # "up" or "down": how the current value moved
    effect_se: float | None = None  # standard error of the effect, where one is known
    floor: float = float("nan")
    p_adjusted: float = float("nan")
    drifted: bool = False
    detail: dict = field(default_factory=dict)
    noise_floor: float = 0.0  # largest effect the training window shows on its own
    group: str = ""
    label: str = ""  # what moved, in words, products by description with the code beside
    subject: str = ""  # what was tested, in words (the product or rule, else the feature)

    @property
    def name(self) -> str:
        return f"{self.kind}: {self.feature}"
