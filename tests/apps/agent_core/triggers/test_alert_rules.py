"""Alert rules: the file is checked whole at start (every problem named), rules match labels by equality and by
linear-time regexes, inputs are filled from the alert, and the built-ins fit the Kubernetes server's real tools."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from apps.agent_core.app import create_app
from apps.agent_core.settings import AgentCoreSettings
from apps.agent_core.triggers.alertmanager import Alert, AlertmanagerMessage
from apps.agent_core.triggers.builtin_rules import builtin_rules
from apps.agent_core.triggers.label_regex import LabelRegex, LabelRegexError
from apps.agent_core.triggers.rules import AlertRule, MissingAlertValue, Rule, configured_rules
from apps.agent_core.workflows.validation import validate_workflow
from apps.common.settings import ConfigurationError
from tests.apps.agent_core.triggers.test_alertmanager_payload import sample
from tests.apps.agent_core.workflows.catalog import real_catalog

GOOD_RULE: dict[str, Any] = {
    "name": "shop-pods",
    "match": {"labels": {"alertname": "KubePodCrashLooping"}, "labels_regex": {"namespace": "shop|agentic"}},
    "target": {"template": "cluster_health"},
    "notify": [],
}


def _write(tmp_path: Path, rules: list[dict[str, Any]] | Any) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"rules": rules} if isinstance(rules, list) else rules))
    return path


def _alert(**labels: str) -> Alert:
    body = sample()["alerts"][0]
    body["labels"] = labels
    return AlertmanagerMessage.model_validate({**sample(), "alerts": [body]}).alerts[0]


def test_every_problem_of_the_file_is_named_with_the_file_and_the_rule(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            GOOD_RULE,
            {**GOOD_RULE, "name": "typo", "cooldown": 5},
            {**GOOD_RULE, "name": "bad-regex", "match": {"labels_regex": {"pod": "(a+)+$"}}},
            {**GOOD_RULE, "name": "no-target", "target": {"template": "nope"}},
            {**GOOD_RULE, "name": "bad-input", "target": {"template": "cluster_health", "inputs": {"x": "1"}}},
            {
                **GOOD_RULE,
                "name": "bad-placeholder",
                "target": {"template": "weather_to_store", "inputs": {"location": "{{ steps.x }}"}},
            },
            {**GOOD_RULE, "name": "empty-match", "match": {}},
            {**GOOD_RULE, "name": "slow", "rate_limit": {"runs": 0, "per_seconds": 60}},
            {**GOOD_RULE, "name": "unknown-sink", "notify": ["pager"]},
            {**GOOD_RULE},
        ],
    )
    with pytest.raises(ConfigurationError) as caught:
        configured_rules(path, builtin_rules(), frozenset({"oncall"}))
    message = str(caught.value)
    assert f"AGENTIC_TRIGGERS_FILE ({path})" in message
    for expected in (
        "rule 'typo' (rules[1]), cooldown: Extra inputs are not permitted",
        "rule 'bad-regex' (rules[2]), match.labels_regex: pod: '$' is not needed",
        "rule 'no-target' (rules[3]), target: no template 'nope'; the templates are: s3_inventory",
        "rule 'bad-input' (rules[4]), target: unknown input \"x\"",
        "rule 'bad-placeholder' (rules[5]), target: {{ steps.x }} is not an alert value",
        "rule 'empty-match' (rules[6]), match: name at least one label",
        "rule 'slow' (rules[7]), rate_limit.runs: Input should be greater than or equal to 1",
        "rule 'unknown-sink', notify: no sink 'pager' in AGENTIC_NOTIFY (defined: oncall)",
        "rule 'shop-pods': the name is used by more than one rule",
    ):
        assert expected in message, (expected, message)


def test_a_bad_rules_file_stops_the_agent_core_at_start(tmp_path: Path) -> None:
    path = _write(tmp_path, [{**GOOD_RULE, "enabeld": False}])
    settings = AgentCoreSettings(
        mcp_servers="lab=http://127.0.0.1:9/mcp", state=f"sqlite:///{tmp_path}/runs.db", triggers_file=path
    )
    with pytest.raises(ConfigurationError, match=r"rule 'shop-pods' \(rules\[0\]\), enabeld: Extra inputs"):
        create_app(settings)


def test_a_file_that_is_not_a_rules_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="the file must be a mapping"):
        configured_rules(_write(tmp_path, {"rule": []}), [], frozenset())
    (tmp_path / "broken.yaml").write_text("rules: [")
    with pytest.raises(ConfigurationError, match="not valid YAML or JSON"):
        configured_rules(tmp_path / "broken.yaml", [], frozenset())


def test_a_file_rule_replaces_the_builtin_of_its_name(tmp_path: Path) -> None:
    replacement = {**GOOD_RULE, "name": "KubePodCrashLooping", "enabled": False}
    rules = configured_rules(_write(tmp_path, [replacement]), builtin_rules(), frozenset())
    assert [(rule.name, rule.source) for rule in rules] == [
        ("KubePodNotReady", "builtin"),
        ("KubeDeploymentReplicasMismatch", "builtin"),
        ("KubePodCrashLooping", "file"),
    ]


def test_labels_match_by_equality_and_whole_value_regex() -> None:
    rule = Rule.of(AlertRule.model_validate(GOOD_RULE), "file")
    assert rule.matches({"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "p"})
    assert not rule.matches({"alertname": "KubePodCrashLooping", "namespace": "shopping"}), "anchored"
    assert not rule.matches({"alertname": "KubePodCrashLooping"}), "a regex label must be present"
    assert not rule.matches({"alertname": "KubePodNotReady", "namespace": "shop"})


@pytest.mark.parametrize(
    ("pattern", "subject"),
    [("(a+)+b", "a" * 1024), ("(a|a)*b", "a" * 1024), ("a*a*a*a*a*a*a*a*b", "a" * 1024), (".*.*.*.*=.*", "x" * 1024)],
)
def test_a_hostile_regex_on_a_long_label_is_linear(pattern: str, subject: str) -> None:
    # Python's re takes exponential or polynomial time on each of these (seconds to ages at this length).
    started = time.perf_counter()
    assert LabelRegex(pattern).matches(subject) is False
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("(a)\\1", "'\\1' is not supported"),
        ("(?=a)", "only (?:...) groups"),
        ("a{1,1000}", "bounds must be"),
        ("((a{100}){100}){100}", "too large"),
        ("x" * 300, "at most 256 characters"),
        ("a*?", "lazy"),
    ],
)
def test_regex_features_that_could_blow_up_are_refused_by_name(pattern: str, problem: str) -> None:
    with pytest.raises(LabelRegexError) as caught:
        LabelRegex(pattern)
    assert problem in str(caught.value)


def test_inputs_are_filled_from_labels_and_annotations_without_evaluating_anything() -> None:
    spec = {
        **GOOD_RULE,
        "target": {"template": "weather_to_store", "inputs": {"location": "{{ alert.labels.pod }}@{{alert.status}}"}},
    }
    rule = Rule.of(AlertRule.model_validate(spec), "file")
    assert rule.inputs_for(_alert(pod="{{ steps.x }}")) == {"location": "{{ steps.x }}@firing"}
    with pytest.raises(MissingAlertValue, match="the alert has no label 'pod' \\(input 'location' needs it\\)"):
        rule.inputs_for(_alert(namespace="shop"))


def test_the_builtin_workflows_fit_the_kubernetes_servers_real_tools() -> None:
    catalog = real_catalog()
    for rule in configured_rules(None, builtin_rules(), frozenset()):
        assert validate_workflow(rule.spec.target.document(), catalog) == [], rule.name
        assert rule.inputs_for(_alert(namespace="shop", pod="web-1", deployment="web"))
