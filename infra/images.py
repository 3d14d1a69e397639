"""The platform's six images: an ECR repository each, built and pushed with pulumi-docker-build.

Tags are the content hash of the build context (`content_tag`): the same sources always give the same tag,
any change gives a new one, so the repositories' tags can be immutable. Pods pull by digest
(`repository@sha256:…`), so an unchanged image never restarts them. The build context is the repository
root filtered by `.dockerignore` (an allow-list of exactly `CONTEXT_PATHS`); the tag hashes the same files.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build

__all__ = ["CONTEXT_PATHS", "DOCKERFILES", "Images", "ImagesArgs", "content_tag", "lifecycle_policy"]

ROOT = Path(__file__).resolve().parent.parent
# What the images may contain; .dockerignore lets in exactly these (tests/infra compare the two).
CONTEXT_PATHS = ("apps", "dashboard", "docker", "requirements/runtime.txt")
_IGNORED_PARTS = ("__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache")
# Image (= workload) name → its Dockerfile, relative to the repository root.
DOCKERFILES = {
    "agent-core": "docker/agent-core.Dockerfile",
    "aws-mcp": "docker/aws-mcp.Dockerfile",
    "database-mcp": "docker/database-mcp.Dockerfile",
    "custom-mcp": "docker/custom-mcp.Dockerfile",
    "k8s-mcp": "docker/k8s-mcp.Dockerfile",
    "frontend": "docker/frontend.Dockerfile",
    # No workload of its own: the base image of the extra MCP servers (infra/extra_mcp_servers.py).
    "mcp-bridge": "docker/mcp-bridge.Dockerfile",
}
TAGGED_IMAGES_KEPT = 20


def _context_files(root: Path) -> Iterator[Path]:
    for entry in CONTEXT_PATHS:
        path = root / entry
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            relative = file.relative_to(root)
            if not any(part in _IGNORED_PARTS for part in relative.parts) and file.suffix != ".pyc":
                yield file


def content_tag(root: Path = ROOT) -> str:
    """A hash of every file the images are built from (paths and bytes), as a 16-character tag."""
    digest = hashlib.sha256()
    for file in _context_files(root):
        digest.update(file.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()[:16]


def lifecycle_policy() -> dict[str, Any]:
    """The last N tagged images stay; nothing is selected by being untagged.

    The manifests inside an image index (one per platform, and buildx's attestation manifests) are stored as
    untagged images of their own, and ECR's rules do not follow an index to its children: a rule on
    `untagged` (or a count over `any`, which counts them too) could expire the child of a tag still in use,
    and pods would fail to pull it. Counting only tagged images never selects a child.
    """
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"keep the last {TAGGED_IMAGES_KEPT} tagged images",
                "selection": {
                    "tagStatus": "tagged",
                    "tagPatternList": ["*"],
                    "countType": "imageCountMoreThan",
                    "countNumber": TAGGED_IMAGES_KEPT,
                },
                "action": {"type": "expire"},
            },
        ]
    }


@dataclass
class ImagesArgs:
    # Repositories are named <prefix>/<image>.
    repository_prefix: str
    # The repository root, relative to the program's working directory (the CLI runs it in infra/), so
    # the build's inputs are the same on every machine.
    context: str
    tag: str


def build_context() -> str:
    return os.path.relpath(ROOT, Path.cwd())


class Images(pulumi.ComponentResource):
    repository_urls: dict[str, pulumi.Output[str]]
    # repository@digest per image, for pod specs.
    references: dict[str, pulumi.Output[str]]
    tag: str

    def __init__(self, name: str, args: ImagesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agentic:images:Images", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        repositories = {
            image: aws.ecr.Repository(
                f"{name}-{image}",
                name=f"{args.repository_prefix}/{image}",
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
                encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS")],
                # Images are rebuilt from source at will; keeping them must not block `pulumi destroy`.
                force_delete=True,
                opts=child,
            )
            for image in DOCKERFILES
        }
        for image, repository in repositories.items():
            aws.ecr.LifecyclePolicy(
                f"{name}-{image}-lifecycle",
                repository=repository.name,
                policy=json.dumps(lifecycle_policy()),
                opts=child,
            )
        first = next(iter(repositories.values()))
        # One short-lived registry credential for the whole account's registry, held in memory by the build.
        auth = aws.ecr.get_authorization_token_output(registry_id=first.registry_id)
        registry = docker_build.RegistryArgs(
            address=first.repository_url.apply(lambda url: url.split("/", 1)[0]),
            username=auth.user_name,
            password=pulumi.Output.secret(auth.password),
        )
        self.repository_urls = {image: repo.repository_url for image, repo in repositories.items()}
        self.references = {}
        for image, dockerfile in DOCKERFILES.items():
            repository = repositories[image]
            built = docker_build.Image(
                f"{name}-{image}-image",
                context=docker_build.BuildContextArgs(location=args.context),
                dockerfile=docker_build.DockerfileArgs(location=os.path.join(args.context, dockerfile)),
                # The nodes are amd64 (the Karpenter NodePool and the managed node group). One platform and the
                # provider's embedded build (not `exec`, which runs the buildx CLI and its default provenance
                # attestation) push a single image manifest: no index, no untagged children.
                platforms=[docker_build.Platform.LINUX_AMD64],
                exec_=False,
                tags=[pulumi.Output.concat(repository.repository_url, ":", args.tag)],
                labels={"org.opencontainers.image.version": args.tag, "org.opencontainers.image.title": image},
                push=True,
                registries=[registry],
                # A preview needs no Docker engine; the build runs in `pulumi up`.
                build_on_preview=False,
                opts=child,
            )
            self.references[image] = pulumi.Output.concat(repository.repository_url, "@", built.digest)
        self.tag = args.tag
        self.register_outputs({"repositoryUrls": self.repository_urls, "references": self.references, "tag": self.tag})
