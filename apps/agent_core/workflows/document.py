"""A workflow document: named tool steps, run in order, that may use each other's results.

JSON or YAML, the same shape::

    {
      "name": "s3_report",
      "description": "List buckets, store the first name, summarise.",
      "inputs": {"prefix": null},
      "steps": [
        {"id": "buckets", "tool": "aws.list_s3_buckets",
         "arguments": {"prefix": "{{ inputs.prefix }}", "max_buckets": 100},
         "retry": {"attempts": 3, "backoff_seconds": 0.5}, "timeout_seconds": 30},
        {"parallel": [
          {"id": "first", "tool": {"server": "custom", "name": "store_data"},
           "when": "length(steps.buckets.result.buckets) > `0`",
           "arguments": {"key": "s3/first", "value": "{{ steps.buckets.result.buckets[0].name }}"},
           "on_error": "continue"},
          {"id": "count", "tool": "custom.store_data",
           "arguments": {"key": "s3/count", "value": "{{ length(steps.buckets.result.buckets) }}"},
           "on_error": {"fallback": {"id": "count_again", "tool": "custom.store_data",
                                     "arguments": {"key": "s3/count-retry", "value": 0}}}}
        ]}
      ],
      "analyze": {"instruction": "Summarise the buckets by region and age."}
    }

- ``inputs``: every input the workflow reads, with its default (``null`` for none); callers may override them.
- ``steps``: run in order. An item is a step or ``{"parallel": [step, …]}``, whose steps run concurrently.
- A step: ``id`` (``[a-z][a-z0-9_]{0,63}``, unique in the document, fallbacks included), ``tool``
  (``"server.name"`` or ``{"server", "name"}``), ``arguments`` (see references.py: ``"{{ expr }}"`` is a
  JMESPath expression over ``{"steps": {id: {"result", "status", "error"}}, "inputs": {…}}``), ``when``
  (a JMESPath expression; the step is skipped unless it is truthy), ``retry`` (``attempts`` in all, waiting
  ``backoff_seconds`` doubled after each failure), ``timeout_seconds`` (per attempt) and ``on_error``:
  ``"fail"`` (the default: stop the workflow), ``"continue"``, or ``{"fallback": step}`` (run another step
  whose result stands in for this one's).
- ``analyze``: optional; the reasoner summarises the results following ``instruction``.

Parsing checks shape and size only (``WorkflowParseError`` lists every problem). What needs the tool
catalog or the order of steps — tools, references, argument schemas, retry and timeout bounds — is
``validation.validate_workflow``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "MAX_STEPS",
    "AnalyzeStep",
    "Fallback",
    "ParallelGroup",
    "PlacedStep",
    "Step",
    "StepRetry",
    "ToolRef",
    "WorkflowDocument",
    "WorkflowParseError",
    "parse_workflow",
    "placed_steps",
]

MAX_DOCUMENT_BYTES = 256 * 1024
MAX_STEPS = 50
"""Every step counts: parallel members and fallbacks too."""
MAX_NESTING = 64
"""Levels of objects and lists; deeper documents are refused before anything recurses into them."""
MAX_PARALLEL = 10
MAX_INPUTS = 20

# Identifiers double as JMESPath field names (``steps.<id>``, ``inputs.<name>``), so no hyphens or dots.
IDENTIFIER_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
SERVER_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"
TOOL_NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,128}$"  # MCP's recommended tool-name alphabet

_IDENTIFIER_RE = re.compile(IDENTIFIER_PATTERN)
_BRACKETS = re.compile(r"[\[\]{}]")


def _check_identifier(value: str) -> str:
    if not _IDENTIFIER_RE.match(value):
        raise ValueError(f"{value!r} is not a valid name: a lowercase letter, then up to 63 of a-z, 0-9 and _")
    return value


Identifier = Annotated[str, AfterValidator(_check_identifier)]


class WorkflowParseError(ValueError):
    """The document is not a workflow; ``problems`` lists every reason, each with its location."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid workflow document: " + "; ".join(problems))
        self.problems = problems


class _Model(BaseModel):
    # strict: a YAML "3" or true is not silently an attempt count.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ToolRef(_Model):
    server: str = Field(pattern=SERVER_PATTERN)
    name: str = Field(pattern=TOOL_NAME_PATTERN)

    def __str__(self) -> str:
        return f"{self.server}.{self.name}"


class StepRetry(_Model):
    """Bounds are checked by validation, with the document's other problems."""

    attempts: int = 1
    backoff_seconds: float = 0.5


def _on_error_kind(value: Any) -> str:
    return "fallback" if isinstance(value, dict | Fallback) else "mode"


class Step(_Model):
    id: Identifier
    tool: ToolRef
    description: str | None = Field(default=None, max_length=500)
    arguments: dict[str, Any] = Field(default_factory=dict, max_length=50)
    when: str | None = Field(default=None, min_length=1, max_length=1000)
    retry: StepRetry | None = None
    timeout_seconds: float | None = None
    on_error: Annotated[
        Annotated[Literal["fail", "continue"], Tag("mode")] | Annotated[Fallback, Tag("fallback")],
        Discriminator(_on_error_kind),
    ] = "fail"

    @field_validator("tool", mode="before")
    @classmethod
    def _split_tool_name(cls, value: Any) -> Any:
        if isinstance(value, str):
            server, dot, name = value.partition(".")
            if not dot:
                raise ValueError(f"tool must be 'server.name' or {{server, name}}, got {value!r}")
            return {"server": server, "name": name}
        return value

    @property
    def fallback(self) -> Step | None:
        return self.on_error.fallback if isinstance(self.on_error, Fallback) else None


class Fallback(_Model):
    fallback: Step


class ParallelGroup(_Model):
    parallel: list[Step] = Field(min_length=1, max_length=MAX_PARALLEL)


class AnalyzeStep(_Model):
    instruction: str = Field(min_length=1, max_length=4000)
    """May interpolate ``{{ expr }}`` like a step argument."""


def _item_kind(value: Any) -> str:
    # Telling the two apart by key gives one error per mistake instead of one per union member.
    is_group = isinstance(value, ParallelGroup) or (isinstance(value, dict) and "parallel" in value)
    return "group" if is_group else "step"


StepItem = Annotated[Annotated[Step, Tag("step")] | Annotated[ParallelGroup, Tag("group")], Discriminator(_item_kind)]


class WorkflowDocument(_Model):
    name: Identifier
    description: str = Field(default="", max_length=2000)
    inputs: dict[Identifier, Any] = Field(default_factory=dict, max_length=MAX_INPUTS)
    steps: list[StepItem] = Field(min_length=1, max_length=MAX_STEPS)
    analyze: AnalyzeStep | None = None

    @model_validator(mode="after")
    def _bounded_step_count(self) -> WorkflowDocument:
        count = sum(1 for _ in placed_steps(self))
        if count > MAX_STEPS:
            raise ValueError(
                f"the workflow has {count} steps (parallel members and fallbacks included); at most {MAX_STEPS}"
            )
        return self


Step.model_rebuild()


@dataclass(frozen=True)
class PlacedStep:
    """A step with where it sits: what validation reports and what decides what it may reference."""

    step: Step
    label: str
    """``steps[2]``, ``steps[1].parallel[0]`` or ``steps[3].on_error.fallback``."""
    index: int
    """Its top-level item's index: steps with a smaller index have run before it."""
    group: tuple[str, ...] = ()
    """The ids of the parallel group it belongs to (empty when it runs alone)."""
    parent: Step | None = None
    """For a fallback, the step it stands in for."""

    def describe(self) -> str:
        return f'{self.label} (id "{self.step.id}")'


def placed_steps(doc: WorkflowDocument) -> Iterator[PlacedStep]:
    """Every step in document order, each followed by its fallback chain."""
    for index, item in enumerate(doc.steps):
        if isinstance(item, ParallelGroup):
            group = tuple(step.id for step in item.parallel)
            for member_index, step in enumerate(item.parallel):
                yield from _with_fallbacks(PlacedStep(step, f"steps[{index}].parallel[{member_index}]", index, group))
        else:
            yield from _with_fallbacks(PlacedStep(item, f"steps[{index}]", index))


def _with_fallbacks(placed: PlacedStep) -> Iterator[PlacedStep]:
    yield placed
    fallback = placed.step.fallback
    if fallback is not None:
        # Nested fallbacks are parsed (so validation can name them) but refused by validation.
        yield from _with_fallbacks(
            PlacedStep(fallback, f"{placed.label}.on_error.fallback", placed.index, placed.group, placed.step)
        )


def parse_workflow(data: dict[str, Any] | str) -> WorkflowDocument:
    """A workflow from a dict, JSON text or YAML text; raises ``WorkflowParseError`` listing every problem."""
    if isinstance(data, str):
        data = _load_text(data)
    if not isinstance(data, dict):
        raise WorkflowParseError([f"a workflow is a mapping with name and steps, got {type(data).__name__}"])
    if _nesting(data) > MAX_NESTING:
        raise WorkflowParseError([f"the document is nested more than {MAX_NESTING} levels deep"])
    try:
        # Also proves the data is plain JSON (YAML dates, NaN and Python objects are not), as a tool call needs.
        size = len(json.dumps(data, allow_nan=False).encode())
    except (TypeError, ValueError) as exc:
        raise WorkflowParseError([f"the document must hold only JSON values (quote dates in YAML): {exc}"]) from None
    if size > MAX_DOCUMENT_BYTES:
        raise WorkflowParseError([f"the document is {size:,} bytes as JSON; at most {MAX_DOCUMENT_BYTES:,}"])
    try:
        return WorkflowDocument.model_validate(data)
    except ValidationError as exc:
        raise WorkflowParseError([_describe_error(error) for error in exc.errors()]) from None


def _nesting(data: Any) -> int:
    """How deep ``data`` goes, found without recursion (which is what a deep document would exhaust)."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_NESTING:
            break
        pending.extend((child, depth + 1) for child in children)
    return deepest


def _load_text(text: str) -> Any:
    if len(text.encode()) > MAX_DOCUMENT_BYTES:
        raise WorkflowParseError([f"the document is over {MAX_DOCUMENT_BYTES:,} bytes"])
    try:
        return _decode(text)
    except RecursionError:
        raise WorkflowParseError([f"the document is nested more than {MAX_NESTING} levels deep"]) from None


def _bracket_depth(text: str) -> int:
    """The deepest run of unclosed brackets; brackets inside quoted strings count too, which only errs high."""
    depth = deepest = 0
    for char in _BRACKETS.findall(text):
        depth = depth + 1 if char in "[{" else max(0, depth - 1)
        deepest = max(deepest, depth)
    return deepest


def _decode(text: str) -> Any:
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise WorkflowParseError([f"not valid JSON: {exc}"]) from None
    if _bracket_depth(text) > MAX_NESTING:
        # PyYAML's scanner slows quadratically with flow nesting: 10 KB of "[" costs seconds, so look first.
        raise WorkflowParseError([f"the document is nested more than {MAX_NESTING} levels deep"])
    try:
        # Aliases are refused: a few lines of nested aliases expand to gigabytes (the "billion laughs").
        if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=yaml.SafeLoader)):
            raise WorkflowParseError(["YAML anchors and aliases are not accepted; write the values out"])
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise WorkflowParseError([f"not valid JSON or YAML: {' '.join(str(exc).split())}"]) from None


def _describe_error(error: Any) -> str:
    location = ""
    previous: Any = None
    for part in error["loc"]:
        # The discriminated unions' tags are pydantic's bookkeeping, not keys of the document.
        is_tag = (isinstance(previous, int) and part in ("step", "group")) or (
            previous == "on_error" and part in ("mode", "fallback")
        )
        if isinstance(part, int):
            location += f"[{part}]"
        elif not is_tag:
            location += f".{part}" if location else str(part)
        previous = part
    message = error["msg"].removeprefix("Value error, ")
    return f"{location}: {message}" if location else message
