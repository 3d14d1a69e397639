"""The Markdown report and the PNG plots, both written from ``latest.json``'s content alone."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from benchmarks.machine import one_line


def _number(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.1f}"
    return f"{value:.{digits}g}"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _samples_table(samples: list[dict[str, Any]]) -> list[str]:
    metrics: list[str] = []
    for sample in samples:
        metrics += [key for key in sample["values"] if key not in metrics]
    lines = [
        "| subject | scenario | " + " | ".join(metrics) + " |",
        "|---|---|" + "---|" * len(metrics),
    ]
    for sample in samples:
        cells = [_number(sample["values"].get(metric)) if metric in sample["values"] else "" for metric in metrics]
        lines.append(f"| {sample['subject']} | {sample['scenario']} | " + " | ".join(cells) + " |")
    return lines


def _figures_table(figures: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| figure | value | baseline | baseline value | ratio | better |",
        "|---|---|---|---|---|---|",
    ]
    for f in figures:
        lines.append(
            f"| {f['metric']}: {f['subject']} / {f['scenario']} | {_number(f['value'])} {f['unit']} "
            f"| {f['baseline_subject']} / {f['baseline_scenario']} | {_number(f['baseline_value'])} {f['unit']} "
            f"| {_ratio(f['ratio'])} | {f['better']} |"
        )
    return lines


def _goal_line(goal: dict[str, Any]) -> str:
    mark = "met" if goal["met"] else "**missed**"
    note = f" ({goal['note']})" if goal.get("note") else ""
    return (
        f"| {goal['name']} | {_number(goal['measured'])} {goal['unit']} | {goal['op']} {_number(goal['target'])} "
        f"{goal['unit']} | {mark}{note} |"
    )


def markdown(results: dict[str, Any]) -> str:
    machine = results["machine"]
    quick = " (quick mode: smoke figures only)" if results["quick"] else ""
    lines = [
        "# Benchmarks: the platform against its baselines",
        "",
        f"Run {results['started_at']} in {results['seconds']:.0f} s{quick}, "
        "with `make bench` (`python -m benchmarks`), on one machine:",
        "",
        f"**{one_line(machine)}**",
        "",
        "Every figure is a ratio against a baseline measured in the same run; the absolute numbers stand beside "
        "it, and mean something only for this machine. Goals are reported, not asserted. Raw data: "
        "[latest.json](latest.json).",
        "",
        "## Goals",
        "",
        "| goal | measured | target | |",
        "|---|---|---|---|",
    ]
    for comparison in results["comparisons"].values():
        lines += [_goal_line(goal) for goal in comparison["goals"]]
    for comparison in results["comparisons"].values():
        lines += ["", f"## {comparison['title']}", "", comparison["description"].strip(), ""]
        for plot in comparison["plots"]:
            lines += [f"![{plot['title']}]({plot['file']})", ""]
        lines += ["### Figures", "", *_figures_table(comparison["figures"]), ""]
        lines += ["### Measurements", "", *_samples_table(comparison["samples"]), ""]
        if comparison["notes"]:
            lines += ["### Findings", "", *(f"- {note}" for note in comparison["notes"]), ""]
        lines.append(f"_Took {comparison['seconds']:.1f} s._")
    if results.get("failures"):
        lines += ["", "## Comparisons that failed to run", ""]
        lines += [f"- `{name}`: {error}" for name, error in results["failures"].items()]
    return "\n".join(lines) + "\n"


def plots(results: dict[str, Any], directory: Path) -> list[Path]:
    """One grouped bar chart per ``Plot``: scenarios along x, a bar per subject that has the metric."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written: list[Path] = []
    caption = one_line(results["machine"])
    for comparison in results["comparisons"].values():
        for plot in comparison["plots"]:
            samples = [s for s in comparison["samples"] if s["values"].get(plot["metric"]) is not None]
            scenarios = plot["scenarios"] or list(dict.fromkeys(s["scenario"] for s in samples))
            samples = [s for s in samples if s["scenario"] in scenarios]
            subjects = list(dict.fromkeys(s["subject"] for s in samples))
            if not samples:
                continue
            figure, axes = plt.subplots(figsize=(max(6.0, 1.2 * len(scenarios) + 3), 4.2))
            width = 0.8 / max(1, len(subjects))
            for index, subject in enumerate(subjects):
                values = {s["scenario"]: s["values"][plot["metric"]] for s in samples if s["subject"] == subject}
                xs = [i + index * width for i, scenario in enumerate(scenarios) if scenario in values]
                ys = [values[scenario] for scenario in scenarios if scenario in values]
                axes.bar(xs, ys, width, label=subject)
            axes.set_xticks([i + width * (len(subjects) - 1) / 2 for i in range(len(scenarios))], scenarios)
            axes.tick_params(axis="x", labelsize=8)
            axes.set_ylabel(plot["unit"])
            if plot["log_scale"]:
                axes.set_yscale("log")
            axes.set_title(plot["title"])
            axes.legend(fontsize=8)
            figure.text(0.01, 0.01, caption, fontsize=6, color="gray")
            figure.tight_layout(rect=(0, 0.03, 1, 1))
            path = directory / plot["file"]
            figure.savefig(path, dpi=110)
            plt.close(figure)
            written.append(path)
    return written
