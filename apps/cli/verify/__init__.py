"""``verify``: check a running platform end to end, naming each failure and what to do about it.

Through the base URL (the load balancer in the cluster, the agent core under ``make dev``) with the API key:

- the dashboard (``GET /`` answers HTML) and the API (``GET /api/health``), then the run store;
- every configured MCP server reachable from the agent core, each with tools in the catalog;
- one read-only tool call on each server, run as a one-step workflow (``probes.py`` says which tool; a
  server lacking AWS credentials or cluster access is a warning, a failure under ``--strict``);
- the reasoner answering one task that needs no tool;
- the approvals route refusing a malformed decision (4xx, never 5xx), and the runs awaiting approval counted.

With cluster access (``--kubeconfig`` or ``KUBECONFIG``), ``cluster_checks.py``: Karpenter's NodePool, Prometheus
scraping the platform, Grafana's dashboard ConfigMap. Nothing is approved, and the only runs started are
verify's own, read-only; one that stops at an approval or outlives ``--run-timeout`` is cancelled.
"""
