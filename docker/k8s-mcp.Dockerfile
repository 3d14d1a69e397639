# syntax=docker/dockerfile:1
# k8s-mcp: the Kubernetes MCP server: pods, status, troubleshooting, scaling.
# Built by the Pulumi program (infra/images.py) from the repository root:
#   docker build -f docker/k8s-mcp.Dockerfile .
# tests/infra/test_images.py holds every service Dockerfile to the same rules (and runs hadolint and checkov).

# --- build: the locked runtime dependencies into a virtualenv, and the service's code, compiled -------------
FROM python:3.11.14-slim-trixie AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
# No pip inside the virtualenv: the base image's pip installs into it, and stays behind in this stage.
RUN python -m venv --without-pip /opt/venv
# Dependencies in their own layer: it is rebuilt only when the lock changes. Wheels only, every hash checked.
COPY requirements/runtime.txt /tmp/runtime.txt
RUN pip --python /opt/venv/bin/python install --require-hashes --only-binary=:all: --no-deps -r /tmp/runtime.txt
COPY apps/__init__.py /app/apps/__init__.py
COPY apps/common /app/apps/common
COPY apps/mcp_kubernetes /app/apps/mcp_kubernetes
# Compiled now: the root filesystem is read-only at run time, so nothing could be cached then.
RUN /opt/venv/bin/python -m compileall -q /opt/venv /app/apps

# --- runtime: the interpreter, the virtualenv and the code; no pip, no compiler, no package cache ------------
FROM python:3.11.14-slim-trixie
LABEL org.opencontainers.image.title="agentic-platform k8s-mcp" \
      org.opencontainers.image.description="the Kubernetes MCP server: pods, status, troubleshooting, scaling"
RUN python -m pip uninstall --yes --quiet pip setuptools wheel \
    && groupadd --gid 1000 app \
    && useradd --uid 1000 --gid 1000 --home-dir /app --no-create-home --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    HOST=0.0.0.0 \
    PORT=8000
USER 1000:1000
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'), timeout=2)"]
CMD ["python", "-m", "apps.mcp_kubernetes"]
