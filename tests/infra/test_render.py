"""`make render` (python -m infra.render): every object the program would apply, one YAML file each, valid,
deterministic, with secrets redacted; and the new configuration keys behind the platform."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.config import ConfigError, parse_config
from infra.offline import ProgramRun, stack_config
from infra.render import MARKER, REDACTED, main, write_manifests
from tests.infra.support import kubernetes_objects, validate_manifest


def _documents(folder: Path) -> dict[str, dict]:
    return {str(p.relative_to(folder)): yaml.safe_load(p.read_text()) for p in sorted(folder.rglob("*.yaml"))}


def test_render_writes_every_object_once(update_run: ProgramRun, tmp_path: Path) -> None:
    written = write_manifests(update_run, tmp_path / "out")
    documents = _documents(tmp_path / "out")
    objects = {k: v for k, v in documents.items() if not k.startswith("_helm/")}
    assert len(objects) == len(kubernetes_objects(update_run)) and len(written) == len(documents)
    assert {d["name"] for k, d in documents.items() if k.startswith("_helm/")} == {
        "karpenter-crd",
        "karpenter",
        "aws-load-balancer-controller",
        "metrics-server",
        "kube-prometheus-stack",
    }
    for path, document in objects.items():
        folder = path.split("/")[0]
        assert folder == document["metadata"].get("namespace", "_cluster"), path
        if (
            document["apiVersion"].count("/") <= 1
            and "coreos" not in document["apiVersion"]
            and "karpenter" not in document["apiVersion"]
        ):
            validate_manifest(document, "1.35")
    assert (tmp_path / "out" / MARKER).is_file()


def test_render_redacts_every_secret(update_run: ProgramRun, tmp_path: Path) -> None:
    write_manifests(update_run, tmp_path)
    text = "".join(p.read_text() for p in tmp_path.rglob("*.yaml"))
    assert update_run.exports["apiKey"].value not in text
    assert update_run.exports["grafanaAdminPassword"].value not in text
    secrets = [d for d in _documents(tmp_path).values() if d.get("kind") == "Secret"]
    assert len(secrets) == 5  # the API keys' digests, the MCP token (twice), Grafana's and Alertmanager's keys
    for secret in secrets:
        assert set(secret["stringData"].values()) == {REDACTED}


def test_render_is_deterministic_and_replaces_its_own_output(tmp_path: Path) -> None:
    out = tmp_path / "rendered"
    assert main(["--out", str(out)]) == 0
    first = _documents(out)
    (out / "agentic" / "stale.yaml").write_text("kind: Stale\n")
    assert main(["--out", str(out)]) == 0
    assert _documents(out) == first


def test_render_refuses_a_folder_it_did_not_write(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path)])
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_render_reports_bad_configuration(tmp_path: Path) -> None:
    config = tmp_path / "Pulumi.bad.yaml"
    config.write_text(
        (Path(__file__).resolve().parents[2] / "Pulumi.dev.yaml").read_text().replace("azCount: 3", "azCount: 9")
    )
    assert main(["--out", str(tmp_path / "out"), "--config-file", str(config)]) == 2


def _parse(**overrides: str | None) -> object:
    values = stack_config()
    for key, value in overrides.items():
        full = f"agentic-platform:{key}"
        if value is None:
            values.pop(full, None)
        else:
            values[full] = value
    return parse_config(values.get)


def test_model_id_must_be_invocable() -> None:
    with pytest.raises(ConfigError, match="bedrockModelId"):
        _parse(bedrockModelId="eu.amazon.nova-pro-v1:0")  # a profile whose destinations nobody listed
    arn = "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-pro-v1:0"
    assert _parse(bedrockModelId=arn).apps.bedrock_model_id == arn  # type: ignore[attr-defined]
    default = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    assert _parse(bedrockModelId=None).apps.bedrock_model_id == default  # type: ignore[attr-defined]
