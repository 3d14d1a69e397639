"""The local tools `pulumi up` runs: the Pulumi CLI, the AWS CLI and a Docker engine with buildx.

Only read-only commands are run (`pulumi version`, `aws --version`, `docker version`, `docker buildx version`,
`docker buildx inspect` without `--bootstrap`), each bounded in time (commands.py).
"""

from __future__ import annotations

from infra.preflight.commands import Version, find_tool, run_command
from infra.preflight.findings import Finding

__all__ = [
    "MIN_AWS_CLI_V1",
    "MIN_AWS_CLI_V2",
    "MIN_BUILDX",
    "MIN_DOCKER_ENGINE",
    "MIN_PULUMI",
    "check_aws_cli",
    "check_docker_buildx",
    "check_docker_engine",
    "check_pulumi",
]

# The program's SDK is pulumi==3.272.0 (requirements.txt). The CLI and the language SDK are released together,
# and an SDK may call engine RPCs that arrived in its own release, so an older CLI is an untested pairing.
# tests/infra/preflight/test_tools.py keeps this equal to the pin.
MIN_PULUMI = Version(3, 272, 0)
# The generated kubeconfig asks `aws eks get-token` for client.authentication.k8s.io/v1beta1 (infra/cluster.py);
# the AWS CLI answers v1beta1 by default from 1.24.0 (aws/aws-cli#6940, May 2022; aws/containers-roadmap#1736).
# 2.7.0 is the v2 line's release of that month (taken as the v2 equivalent; the v2 changelog was not checked).
# Older CLIs answer v1alpha1, which Kubernetes clients since 1.24 reject.
MIN_AWS_CLI_V2 = Version(2, 7, 0)
MIN_AWS_CLI_V1 = Version(1, 24, 0)
# pulumi-docker-build drives BuildKit through the engine; Docker Engine 23.0 is the first release where BuildKit
# is the default builder and buildx ships with the engine.
MIN_DOCKER_ENGINE = Version(23, 0, 0)
# buildx 0.10 is the release bundled with Docker Engine 23.0.
MIN_BUILDX = Version(0, 10, 0)
TARGET_PLATFORM = "linux/amd64"  # the nodes' architecture (infra/images.py builds for it)

_PULUMI_INSTALL = "curl -fsSL https://get.pulumi.com | sh  (see https://www.pulumi.com/docs/install/)"
_AWS_INSTALL = "install AWS CLI v2: https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html"
_DOCKER_INSTALL = "install Docker Engine 23.0 or newer: https://docs.docker.com/engine/install/"
_BUILDX_INSTALL = "install the buildx plugin (Debian/Ubuntu: sudo apt-get install docker-buildx-plugin)"
_QEMU = "docker run --privileged --rm tonistiigi/binfmt --install amd64"


def check_pulumi() -> Finding:
    name = "pulumi-cli"
    path = find_tool("pulumi")
    if path is None:
        return Finding.failed(name, "`pulumi` is not on PATH", _PULUMI_INSTALL)
    result = run_command(path, "version")
    version = Version.parse(result.stdout) if result.ok else None
    if version is None:
        return Finding.failed(name, f"`{path} version` {result.failure()}", _PULUMI_INSTALL)
    if version < MIN_PULUMI:
        return Finding.failed(
            name,
            f"Pulumi CLI {version} is older than {MIN_PULUMI} (the pinned SDK)",
            f"pulumi self-update  or  {_PULUMI_INSTALL}",
        )
    return Finding.passed(name, f"Pulumi CLI {version} ({path})")


def check_aws_cli() -> Finding:
    name = "aws-cli"
    path = find_tool("aws")
    if path is None:
        return Finding.failed(name, "`aws` is not on PATH (the kubeconfig runs `aws eks get-token`)", _AWS_INSTALL)
    result = run_command(path, "--version")
    # AWS CLI v1 prints its version on stderr.
    version = Version.parse(result.output) if result.ok else None
    if version is None:
        return Finding.failed(name, f"`{path} --version` {result.failure()}", _AWS_INSTALL)
    minimum = MIN_AWS_CLI_V1 if version.major == 1 else MIN_AWS_CLI_V2
    if version < minimum:
        return Finding.failed(
            name,
            f"AWS CLI {version} is older than {minimum}: its `eks get-token` answers with an API version "
            "the Kubernetes clients reject",
            _AWS_INSTALL,
        )
    return Finding.passed(name, f"AWS CLI {version} ({path})")


def check_docker_engine() -> Finding:
    name = "docker-engine"
    path = find_tool("docker")
    if path is None:
        return Finding.failed(name, "`docker` is not on PATH (the images are built locally)", _DOCKER_INSTALL)
    result = run_command(path, "version", "--format", "{{.Server.Version}}")
    version = Version.parse(result.stdout) if result.ok else None
    if version is None:
        return Finding.failed(
            name,
            f"the Docker engine did not answer: `docker version` {result.failure()}",
            "start the Docker engine (sudo systemctl start docker, or open Docker Desktop), then run `docker version`",
        )
    if version < MIN_DOCKER_ENGINE:
        return Finding.failed(name, f"Docker Engine {version} is older than {MIN_DOCKER_ENGINE}", _DOCKER_INSTALL)
    return Finding.passed(name, f"Docker Engine {version}")


def check_docker_buildx() -> Finding:
    name = "docker-buildx"
    path = find_tool("docker")
    if path is None:
        return Finding.failed(name, "`docker` is not on PATH, so neither is buildx", _DOCKER_INSTALL)
    result = run_command(path, "buildx", "version")
    version = Version.parse(result.stdout) if result.ok else None
    if version is None:
        return Finding.failed(name, f"`docker buildx version` {result.failure()}", _BUILDX_INSTALL)
    if version < MIN_BUILDX:
        return Finding.failed(name, f"buildx {version} is older than {MIN_BUILDX}", _BUILDX_INSTALL)
    inspect = run_command(path, "buildx", "inspect")
    if not inspect.ok:
        return Finding.failed(name, f"buildx {version}; `docker buildx inspect` {inspect.failure()}", _BUILDX_INSTALL)
    platforms = _platforms(inspect.stdout)
    if not platforms:
        return Finding.warned(
            name,
            f"buildx {version}; the current builder lists no platforms (not started yet)",
            "docker buildx inspect --bootstrap  (starts the builder), then run the preflight again",
        )
    if TARGET_PLATFORM not in platforms:
        return Finding.failed(
            name,
            f"buildx {version} cannot build {TARGET_PLATFORM} (the builder offers {', '.join(sorted(platforms))})",
            f"{_QEMU}  (installs QEMU emulation for amd64)",
        )
    return Finding.passed(name, f"buildx {version}, builds {TARGET_PLATFORM}")


def _platforms(inspect_output: str) -> set[str]:
    """The `Platforms:` lines of `docker buildx inspect` (one per node; `linux/amd64*` marks configured ones)."""
    found: set[str] = set()
    for line in inspect_output.splitlines():
        label, _, value = line.partition(":")
        if label.strip() == "Platforms":
            found.update(item.strip().rstrip("*") for item in value.split(",") if item.strip())
    return found
