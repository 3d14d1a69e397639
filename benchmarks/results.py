"""What a comparison produces: measured samples, figures derived from them, goals, and notes.

A figure is never typed in: ``Comparison.compare`` reads both numbers from the samples of the same
run and divides them, so every ratio in the report can be traced back to two measured rows (and the
smoke test checks exactly that).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Better = Literal["higher", "lower"]
Op = Literal["<=", ">=", "=="]


@dataclass
class Sample:
    """One measured row: a subject (what ran) in a scenario (how it was driven), and its numbers."""

    subject: str
    scenario: str
    values: dict[str, float]


@dataclass
class Figure:
    """``value`` of ``subject`` against ``baseline_value`` of the baseline, from the same run."""

    metric: str
    unit: str
    subject: str
    scenario: str
    baseline_subject: str
    baseline_scenario: str
    value: float
    baseline_value: float
    ratio: float | None
    better: Better


@dataclass
class Goal:
    name: str
    measured: float
    op: Op
    target: float
    unit: str
    met: bool
    note: str = ""


@dataclass
class Plot:
    """A grouped bar chart of ``metric`` over the samples: one group per scenario, one bar per subject."""

    file: str
    title: str
    metric: str
    unit: str
    scenarios: list[str] | None = None
    log_scale: bool = False


@dataclass
class Comparison:
    name: str
    title: str
    description: str
    samples: list[Sample] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    plots: list[Plot] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, subject: str, scenario: str, **values: float) -> Sample:
        sample = Sample(subject, scenario, {key: float(value) for key, value in values.items()})
        self.samples.append(sample)
        return sample

    def sample(self, subject: str, scenario: str) -> Sample:
        for sample in self.samples:
            if sample.subject == subject and sample.scenario == scenario:
                return sample
        raise KeyError(f"{self.name}: no sample for {subject!r} in {scenario!r}")

    def value(self, subject: str, scenario: str, metric: str) -> float:
        return self.sample(subject, scenario).values[metric]

    def compare(
        self,
        metric: str,
        unit: str,
        subject: str,
        scenario: str,
        baseline_subject: str,
        baseline_scenario: str | None = None,
        *,
        better: Better = "higher",
    ) -> Figure:
        """Add the figure ``subject/scenario`` ÷ ``baseline_subject/baseline_scenario`` for ``metric``."""
        baseline_scenario = baseline_scenario or scenario
        value = self.value(subject, scenario, metric)
        baseline = self.value(baseline_subject, baseline_scenario, metric)
        figure = Figure(
            metric=metric,
            unit=unit,
            subject=subject,
            scenario=scenario,
            baseline_subject=baseline_subject,
            baseline_scenario=baseline_scenario,
            value=value,
            baseline_value=baseline,
            ratio=ratio(value, baseline),
            better=better,
        )
        self.figures.append(figure)
        return figure

    def goal(self, name: str, measured: float, op: Op, target: float, unit: str, note: str = "") -> Goal:
        met = {
            "<=": measured <= target,
            ">=": measured >= target,
            "==": math.isclose(measured, target, rel_tol=1e-9, abs_tol=1e-9),
        }[op]
        goal = Goal(name, measured, op, target, unit, bool(met) and math.isfinite(measured), note)
        self.goals.append(goal)
        return goal

    def to_json(self) -> dict[str, Any]:
        return {key: _finite(value) for key, value in asdict(self).items()}


def ratio(value: float, baseline: float) -> float | None:
    """``value / baseline``; ``None`` when the baseline is zero or not a number (nothing to divide by)."""
    if not math.isfinite(value) or not math.isfinite(baseline) or baseline == 0:
        return None
    return value / baseline


def _finite(value: Any) -> Any:
    # JSON has no NaN or infinity: a figure that could not be measured is null.
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value
