"""Alert rules: which alerts start which workflow, with what inputs, how often. ``AGENTIC_TRIGGERS_FILE``.

The file is YAML (or JSON) ``{"rules": [rule, …]}``; a rule::

    name: api-crashloop                 # [A-Za-z0-9][A-Za-z0-9_.-]{0,63}; a built-in's name replaces it
    match:
      labels: {alertname: KubePodCrashLooping, namespace: shop}   # equal to these
      labels_regex: {pod: "api-.*"}                               # and matching these, whole value
    target:
      template: cluster_health          # a built-in template's id, or
      # workflow: {name: …, inputs: …, steps: […]}               # a workflow document
      inputs: {pod: "{{ alert.labels.pod }}"}                     # the workflow's inputs
    cooldown_seconds: 3600              # after a run for an alert, its next firing episodes are skipped this long
    rate_limit: {runs: 10, per_seconds: 3600}   # runs of this rule per window, across replicas
    notify: [team-slack]                # AGENTIC_NOTIFY sinks told when a run waits for a person or ends
    enabled: true

Input values are scalars; in strings, ``{{ alert.labels.NAME }}``, ``{{ alert.annotations.NAME }}``,
``{{ alert.fingerprint }}``, ``{{ alert.startsAt }}`` and ``{{ alert.status }}`` are replaced by the alert's values
— a substitution, nothing is evaluated. An alert lacking a label or annotation a rule's inputs name is skipped
for that rule, saying which. Regexes are ``triggers/label_regex.py``'s (linear-time) subset.

``configured_rules`` reads the file and raises one ``ConfigurationError`` naming every problem (file, rule,
field), so a bad file stops the agent core at start.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from apps.agent_core.triggers.alertmanager import Alert
from apps.agent_core.triggers.label_regex import LabelRegex, LabelRegexError
from apps.agent_core.workflows.document import WorkflowDocument, WorkflowParseError, parse_workflow
from apps.agent_core.workflows.templates import get_template, list_templates
from apps.agent_core.workflows.validation import input_problems
from apps.common.settings import ConfigurationError

FILE_VARIABLE = "AGENTIC_TRIGGERS_FILE"
MAX_RULES = 200
MAX_MATCHERS = 32

RuleName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
LabelName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
SinkName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
InputValue = Annotated[str, StringConstraints(max_length=4096)] | int | float | bool | None
RuleSource = Literal["builtin", "file"]

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")
_ALERT_FIELD = re.compile(r"^alert\.(?:(labels|annotations)\.([A-Za-z_][A-Za-z0-9_]*)|(fingerprint|startsAt|status))$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleMatch(_Strict):
    """Every label named must be present and equal (``labels``) or match all of its value (``labels_regex``)."""

    labels: dict[LabelName, Annotated[str, StringConstraints(max_length=1024)]] = Field(
        default_factory=dict, max_length=MAX_MATCHERS
    )
    labels_regex: dict[LabelName, str] = Field(default_factory=dict, max_length=MAX_MATCHERS)

    @field_validator("labels_regex")
    @classmethod
    def _compiles(cls, value: dict[str, str]) -> dict[str, str]:
        problems = []
        for name, pattern in value.items():
            try:
                LabelRegex(pattern)
            except LabelRegexError as exc:
                problems.append(f"{name}: {exc}")
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> RuleMatch:
        if not self.labels and not self.labels_regex:
            raise ValueError("name at least one label in labels or labels_regex (e.g. alertname)")
        return self


class RuleTarget(_Strict):
    """What a matching alert runs: a built-in template or a workflow document, with inputs from the alert."""

    template: str | None = None
    workflow: dict[str, Any] | None = None
    inputs: dict[str, InputValue] = Field(default_factory=dict, max_length=64)

    @model_validator(mode="after")
    def _runnable(self) -> RuleTarget:
        self.document()  # raises naming the problem
        problems = [problem for value in self.inputs.values() for problem in _placeholder_problems(value)]
        problems += input_problems(self.document(), self.inputs)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def document(self) -> WorkflowDocument:
        if (self.template is None) == (self.workflow is None):
            raise ValueError("give exactly one of template (a built-in template's id) or workflow (a document)")
        if self.template is not None:
            template = get_template(self.template)
            if template is None:
                known = ", ".join(t.id for t in list_templates())
                raise ValueError(f"no template {self.template!r}; the templates are: {known}")
            return template.workflow
        assert self.workflow is not None
        try:
            return parse_workflow(self.workflow)
        except WorkflowParseError as exc:
            raise ValueError("workflow: " + "; ".join(exc.problems)) from None


class RateLimit(_Strict):
    runs: int = Field(default=10, ge=1, le=100)
    per_seconds: int = Field(default=3600, ge=1, le=86_400)


class AlertRule(_Strict):
    name: RuleName
    match: RuleMatch
    target: RuleTarget
    cooldown_seconds: int = Field(default=3600, ge=0, le=7 * 86_400)
    rate_limit: RateLimit = Field(default_factory=RateLimit)
    notify: list[SinkName] = Field(default_factory=list, max_length=16)
    enabled: bool = True


class MissingAlertValue(ValueError):
    """The alert lacks a label or annotation the rule's inputs name."""


@dataclass(frozen=True)
class Rule:
    """A rule ready to match: its regexes compiled and its workflow parsed."""

    spec: AlertRule
    source: RuleSource
    workflow: dict[str, Any]
    """The document a run is started with (a template's, as ``GET /api/workflows/templates`` shows it)."""
    regexes: Mapping[str, LabelRegex]

    @classmethod
    def of(cls, spec: AlertRule, source: RuleSource) -> Rule:
        regexes = {name: LabelRegex(pattern) for name, pattern in spec.match.labels_regex.items()}
        workflow = spec.target.workflow or spec.target.document().model_dump(mode="json")
        return cls(spec, source, workflow, regexes)

    @property
    def name(self) -> str:
        return self.spec.name

    def matches(self, labels: Mapping[str, str]) -> bool:
        equal = all(labels.get(name) == value for name, value in self.spec.match.labels.items())
        return equal and all(name in labels and regex.matches(labels[name]) for name, regex in self.regexes.items())

    def inputs_for(self, alert: Alert) -> dict[str, Any]:
        """The target's inputs with the alert's values put in; ``MissingAlertValue`` names what is absent."""
        return {
            name: _fill(value, alert, name) if isinstance(value, str) else value
            for name, value in self.spec.target.inputs.items()
        }


def _placeholder_problems(value: object) -> list[str]:
    if not isinstance(value, str):
        return []
    return [
        f"{{{{{inner}}}}} is not an alert value: use alert.labels.NAME, alert.annotations.NAME, "
        "alert.fingerprint, alert.startsAt or alert.status"
        for inner in _PLACEHOLDER.findall(value)
        if not _ALERT_FIELD.match(inner.strip())
    ]


def _fill(template: str, alert: Alert, input_name: str) -> str:
    def value(found: re.Match[str]) -> str:
        field = _ALERT_FIELD.match(found.group(1).strip())
        assert field is not None  # checked when the rule was loaded
        section, key, scalar = field.groups()
        if scalar == "fingerprint":
            return alert.fingerprint
        if scalar == "startsAt":
            return alert.starts_at_key()
        if scalar == "status":
            return alert.status
        values = alert.labels if section == "labels" else alert.annotations
        if key not in values:
            raise MissingAlertValue(f"the alert has no {section[:-1]} {key!r} (input {input_name!r} needs it)")
        return values[key]

    return _PLACEHOLDER.sub(value, template)


def load_rules_file(path: Path) -> tuple[list[AlertRule], list[str]]:
    """The file's valid rules and every problem found, each naming the rule (by name and position) and the field.

    Rules are checked one by one, so one bad rule does not hide the problems (duplicate names, unknown sinks) of
    the others."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return [], [f"cannot read the file: {getattr(exc, 'strerror', None) or exc}"]
    except yaml.YAMLError as exc:
        return [], [f"not valid YAML or JSON: {' '.join(str(exc).split())}"]
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        return [], ['the file must be a mapping {"rules": [rule, …]}']
    problems = [f"unknown key {key!r} at the top level (only rules)" for key in data if key != "rules"]
    if len(data["rules"]) > MAX_RULES:
        return [], [*problems, f"{len(data['rules'])} rules; at most {MAX_RULES}"]
    rules: list[AlertRule] = []
    for index, raw in enumerate(data["rules"]):
        name = raw.get("name") if isinstance(raw, dict) else None
        try:
            rules.append(AlertRule.model_validate(raw))
        except ValidationError as exc:
            problems += [_problem(error, f"rule {name!r} (rules[{index}])") for error in exc.errors()]
    names = [rule.name for rule in rules]
    twice = sorted({name for name in names if names.count(name) > 1})
    return rules, problems + [f"rule {name!r}: the name is used by more than one rule" for name in twice]


def _problem(error: Any, where: str) -> str:
    field = ".".join(str(part) for part in error["loc"]) or "(the rule)"
    return f"{where}, {field}: {str(error['msg']).removeprefix('Value error, ')}"


def configured_rules(path: Path | None, builtins: list[AlertRule], sinks: frozenset[str]) -> list[Rule]:
    """The built-in rules (a file rule of the same name replaces one), then the file's; ``ConfigurationError``
    naming every problem of the file, a ``notify`` name that ``AGENTIC_NOTIFY`` (``sinks``) lacks included."""
    from_file: list[AlertRule] = []
    if path is not None:
        from_file, problems = load_rules_file(path)
        defined = ", ".join(sorted(sinks)) or "none"
        problems += [
            f"rule {rule.name!r}, notify: no sink {sink!r} in AGENTIC_NOTIFY (defined: {defined})"
            for rule in from_file
            for sink in rule.notify
            if sink not in sinks
        ]
        if problems:
            raise ConfigurationError(
                f"{FILE_VARIABLE} ({path}): the alert rules are invalid:\n  - " + "\n  - ".join(problems)
            )
    replaced = {rule.name for rule in from_file}
    return [
        *(Rule.of(rule, "builtin") for rule in builtins if rule.name not in replaced),
        *(Rule.of(rule, "file") for rule in from_file),
    ]
