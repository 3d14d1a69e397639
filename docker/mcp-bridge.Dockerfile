# syntax=docker/dockerfile:1
# mcp-bridge: serves one stdio MCP server over Streamable HTTP (apps/mcp_bridge). It is a base image: an extra
# MCP server's image is built FROM it with the stdio server installed, and its pods run
#   python -m apps.mcp_bridge   (AGENTIC_BRIDGE_COMMAND / AGENTIC_BRIDGE_ARGS name the server inside the image).
# README, "Extra MCP servers", shows one for awslabs' EKS server. Built from the repository root:
#   docker build -f docker/mcp-bridge.Dockerfile .

# --- build: the locked runtime dependencies into a virtualenv, and the bridge's code, compiled --------------
FROM python:3.11.14-slim-trixie AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
# No pip inside the virtualenv: the base image's pip installs into it, and stays behind in this stage.
RUN python -m venv --without-pip /opt/venv
# Dependencies in their own layer: it is rebuilt only when the lock changes. Wheels only, every hash checked.
COPY requirements/runtime.txt /tmp/runtime.txt
RUN pip --python /opt/venv/bin/python install --require-hashes --only-binary=:all: --no-deps -r /tmp/runtime.txt
COPY apps/__init__.py /app/apps/__init__.py
COPY apps/common /app/apps/common
# The bridge starts and talks to its child with the agent core's own stdio client (apps/agent_core/gateway).
COPY apps/agent_core /app/apps/agent_core
COPY apps/mcp_bridge /app/apps/mcp_bridge
# Compiled now: the root filesystem is read-only at run time, so nothing could be cached then.
RUN /opt/venv/bin/python -m compileall -q /opt/venv /app/apps

# --- runtime: the interpreter, the virtualenv and the code; no pip, no compiler, no package cache ------------
FROM python:3.11.14-slim-trixie
LABEL org.opencontainers.image.title="agentic-platform mcp-bridge" \
      org.opencontainers.image.description="a stdio MCP server served over Streamable HTTP; a base for extra servers"
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
CMD ["python", "-m", "apps.mcp_bridge"]
