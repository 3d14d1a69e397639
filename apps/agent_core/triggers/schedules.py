"""Schedules: what the API accepts (``ScheduleRequest``, ``SchedulePatch``), what the store keeps
(``ScheduleRecord``) and what the API answers (``Schedule``).

A request is checked as a whole and every problem is named at once — a bad cron field, an interval under 5 s,
two targets, an unknown template, an unknown field — each with the field it concerns, so a 422 lists them all.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ModelWrapValidatorHandler, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from apps.agent_core.api.schemas import StrictBody
from apps.agent_core.model import RunStatus
from apps.agent_core.triggers.cron import CronTiming, EveryTiming, Timing, check_cron, check_timezone, parse_every
from apps.agent_core.workflows.document import WorkflowParseError, parse_workflow
from apps.agent_core.workflows.templates import get_template, list_templates
from apps.agent_core.workflows.validation import input_problems

__all__ = [
    "CatchUp",
    "LastRun",
    "Schedule",
    "ScheduleList",
    "SchedulePatch",
    "ScheduleRecord",
    "ScheduleRequest",
    "TickRef",
]

CatchUp = Literal["latest", "skip"]
_ERROR = "schedule"
"""The pydantic error type of the problems found here; the API shows only the field and the message."""


def _problem(message: str) -> PydanticCustomError:
    return PydanticCustomError(_ERROR, message)


def _checked(check: Any) -> AfterValidator:
    """A field check whose ``ValueError`` becomes the field's problem, worded as the check words it."""

    def run(value: Any) -> Any:
        try:
            return check(value)
        except ValueError as exc:
            raise _problem(str(exc)) from None

    return AfterValidator(run)


def _known_template(name: str) -> str:
    if get_template(name) is None:
        known = ", ".join(template.id for template in list_templates())
        raise ValueError(f"no built-in template {name!r}; the templates are: {known}")
    return name


def _every(text: str) -> str:
    parse_every(text)
    return text.strip()


Name = Annotated[str, Field(min_length=1, max_length=100)]
Cron = Annotated[str, Field(max_length=200), _checked(check_cron)]
TimeZone = Annotated[str, Field(max_length=64), _checked(check_timezone)]
Every = Annotated[str, Field(max_length=40), _checked(_every)]
Template = Annotated[str, Field(max_length=100), _checked(_known_template)]
Task = Annotated[str, Field(min_length=1, max_length=20_000)]
SinkName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
Notify = Annotated[list[SinkName], Field(max_length=10)]

_TIMING = ("cron", "every")
_TARGETS = ("template", "workflow", "task")


def _shape_problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    """What no single field can say: one timing, one target, inputs that fit the target. As (field, message)."""
    given = {name for name, value in data.items() if value is not None}
    problems: list[tuple[str, str]] = []
    timing = [name for name in _TIMING if name in given]
    if len(timing) != 1:
        problems.append(("cron" if not timing else "every", "send exactly one of 'cron' or 'every'"))
    if "timezone" in given and "cron" not in given:
        problems.append(("timezone", "'timezone' applies only to 'cron'"))
    targets = [name for name in _TARGETS if name in given]
    if len(targets) != 1:
        problems.append((targets[-1] if targets else "task", "send exactly one of 'template', 'workflow' or 'task'"))
    if "inputs" in given and "task" in given:
        problems.append(("inputs", "'inputs' applies only to a template or a workflow"))
    problems += [("workflow", text) for text in _workflow_problems(data) if len(targets) == 1]
    return problems


def _workflow_problems(data: dict[str, Any]) -> list[str]:
    """The document's problems (parsed as a run would parse it) and inputs it does not take."""
    inputs = data.get("inputs") if isinstance(data.get("inputs"), dict) else {}
    source: Any = data.get("workflow")
    if isinstance(data.get("template"), str) and (template := get_template(data["template"])) is not None:
        return input_problems(template.workflow, inputs or {})
    if not isinstance(source, dict | str):
        return []
    try:
        return input_problems(parse_workflow(source), inputs or {})
    except WorkflowParseError as exc:
        return list(exc.problems)


class ScheduleRequest(StrictBody):
    """A schedule: when (``cron`` with ``timezone``, or ``every``) and what (``template``, ``workflow`` or ``task``)."""

    name: Name
    cron: Cron | None = Field(default=None, description="5 fields: minute hour day-of-month month day-of-week")
    timezone: TimeZone | None = Field(default=None, description="IANA name for 'cron'; UTC when omitted")
    every: Every | None = Field(default=None, description="'@every 30s', '@every 5m', '@every 1h'; at least 5 s")
    template: Template | None = Field(default=None, description="a built-in template's id")
    inputs: dict[str, Any] | None = Field(default=None, description="the template's or workflow's inputs")
    workflow: dict[str, Any] | str | None = Field(default=None, description="a workflow document, or its text")
    task: Task | None = None
    enabled: bool = True
    catch_up: CatchUp = Field(default="latest", description="after ticks were missed: run the latest, or skip")
    notify: Notify = Field(default_factory=list, description="notification sinks told of each run's outcome")

    @model_validator(mode="wrap")
    @classmethod
    def _every_problem_at_once(cls, data: Any, handler: ModelWrapValidatorHandler[ScheduleRequest]) -> ScheduleRequest:
        shape = _shape_problems(data) if isinstance(data, dict) else []
        try:
            request = handler(data)
            found: list[InitErrorDetails] = []
        except ValidationError as exc:
            # Field problems come back as they are (their wording), joined by the ones only the whole request shows.
            found = [
                InitErrorDetails(type=PydanticCustomError(error["type"], error["msg"]), loc=error["loc"], input=None)
                for error in exc.errors()
            ]
        found += [InitErrorDetails(type=_problem(message), loc=(field,), input=None) for field, message in shape]
        if found:
            raise ValidationError.from_exception_data(cls.__name__, found)
        if request.cron is not None and request.timezone is None:
            request.timezone = "UTC"
        return request

    def timing(self) -> Timing:
        if self.cron is not None:
            return CronTiming(self.cron, self.timezone or "UTC")
        assert self.every is not None  # the model holds exactly one of the two
        return EveryTiming(parse_every(self.every))


class SchedulePatch(StrictBody):
    """Any subset of a ``ScheduleRequest``'s fields; ``null`` removes an optional one.

    Setting one timing (``cron`` or ``every``) replaces the other, and setting one target (``template``,
    ``workflow`` or ``task``) replaces the others, so ``{"every": "@every 1m"}`` turns a cron schedule into an
    interval one. The result is checked as a whole request, and only then: a bad cron expression and inputs that
    do not fit the target are named together, as for a POST.
    """

    name: str | None = None
    cron: str | None = None
    timezone: str | None = None
    every: str | None = None
    template: str | None = None
    inputs: dict[str, Any] | None = None
    workflow: dict[str, Any] | str | None = None
    task: str | None = None
    enabled: bool | None = None
    catch_up: str | None = None
    notify: list[str] | None = None

    def applied_to(self, current: ScheduleRequest) -> dict[str, Any]:
        """The request this patch makes of ``current``, as data to validate as a ``ScheduleRequest``."""
        changes = self.model_dump(exclude_unset=True)
        merged = current.model_dump()
        if changes.get("every") is not None:
            merged |= {"cron": None, "timezone": None}
        if changes.get("cron") is not None:
            merged["every"] = None
        chosen = [name for name in _TARGETS if changes.get(name) is not None]
        if chosen:
            # A new target's inputs are its own: the old target's would not fit it.
            merged |= {name: None for name in (*_TARGETS, "inputs") if name not in chosen}
        merged |= changes
        for required in ("enabled", "catch_up", "notify"):  # null means "as by default"
            if merged.get(required) is None:
                merged.pop(required, None)
        return merged


class TickRef(BaseModel):
    """A run a schedule started: its id and the tick it was for (``manual:<time>`` for "run now")."""

    run_id: str
    tick: str


class ScheduleRecord(BaseModel):
    """A schedule as stored: the request, who made it, and where its ticks have got to."""

    model_config = ConfigDict(frozen=True)

    id: str
    spec: ScheduleRequest
    created_by: str
    created_at: float
    updated_at: float
    since: float
    """Ticks after this moment are the schedule's; set when it is created, resumed or re-timed."""
    cursor: float | None = None
    """The latest tick some replica has started (or found started, or passed over as missed)."""
    last_run: TickRef | None = None
    last_error: str | None = None
    """Why the latest tick started no run (its workflow no longer validates, say); cleared by the next run."""
    version: int = 0
    """Incremented by every write; writes are conditional on the version read."""

    def after(self) -> datetime:
        """The moment after which a tick is still to be started."""
        return datetime.fromtimestamp(max(self.since, self.cursor or 0.0), UTC)


class LastRun(BaseModel):
    run_id: str
    tick: str
    status: RunStatus | None
    """The run's status now; ``None`` if the run is gone from the store."""
    finished_at: float | None


class Schedule(ScheduleRequest):
    """A schedule as the API shows it: the request's fields and what it has done and will do."""

    id: str
    created_by: str
    created_at: float
    updated_at: float
    next_tick: str | None
    """ISO 8601; ``None`` while paused."""
    last_run: LastRun | None
    last_error: str | None = None


class ScheduleList(BaseModel):
    schedules: list[Schedule]
