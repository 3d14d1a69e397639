"""``python -m apps.cli``: the Agentic Workflows Platform for people who live in a terminal.

Talks to the agent core's HTTP API at ``--url`` (env ``AGENTIC_URL``, default ``http://127.0.0.1:8080``)
with the API key from ``--api-key`` (env ``AGENTIC_API_KEY``) as ``Authorization: Bearer <key>``.

Commands::

    run "task"                          the reasoner plans and runs tools for a task in plain words
    run --workflow FILE [-i KEY=VALUE]  a workflow document, JSON or YAML ('-' reads stdin)
    run --template ID [-i KEY=VALUE]    a built-in template (see 'templates')
        --no-wait                       print the run's id and exit 0
        --wait                          keep watching while a step waits for approval (see below)
        --yes                           approve each approval this run asks for, printing each
    runs [--status S] [--limit N]       recent runs: id, status, kind, age, title
    show ID [--follow]                  one run in full; --follow watches it like 'run'
    approve ID [--reject] [--reason TEXT] [--approval-id A] [--yes]
    cancel ID
    tools [--server S] [--refresh]      tools by server, marked read-only / destructive / writes
    health                              reasoner, run store, each MCP server with its latency
    templates                           built-in workflows and their inputs
    verify [--strict] [--kubeconfig P]  the whole platform end to end, one line per check (``apps.cli.verify``)

Global options (before or after the command): ``--url``, ``--api-key``, ``--json``, ``--no-color``,
``--timeout``.

Watching a run (``run``, ``show --follow``) reads the run's Server-Sent Events and resumes with
``Last-Event-ID`` when the connection drops (up to 5 reconnects in a row). On a terminal: a live status
line (spinner, running step, elapsed time) and a line per finished step (✓ succeeded, ✗ failed or
rejected, ↷ skipped, ⏸ waiting for approval) with its duration and a short result or error; model turns in
one line each. Piped or redirected: the same as plain lines, plus a line per started step. A step that
needs approval prints its tool, its exact arguments and the ``approve`` command, and watching goes on until
the run ends, the approval lapses, or Ctrl-C (the run continues on the server; ``show ID --follow``
picks it up again) — except that ``run`` with no terminal on stdin exits 4 at once (after printing what
waits and how to approve or reject it) unless ``--wait`` is given, and ``run --yes`` approves each of the
run's own approvals, bound to the arguments printed. At the end: the final answer, token usage and status.

``--json``: stdout holds exactly one JSON document. For ``run`` and ``show --follow`` it is the final run
view (``GET /api/runs/{id}``) printed when watching ends — the events themselves are not printed, and
approval requests go to stderr; for ``run --no-wait`` the ``{"id", "status", "links"}`` the API accepted;
for other commands the API's answer; on an error ``{"error", "message", "problems"}``. After Ctrl-C
nothing is printed to stdout.

Exit codes (``exit_codes``)::

    0    the run succeeded, or the command did what it was asked ('show' without --follow: the run was shown)
    1    the run failed or needs attention (a task: a tool call failed or was rejected and no later retry
         of it worked, nothing could be planned, or it hit its budget); 'health' found the platform
         degraded; a 'verify' check failed
    2    usage or validation error: bad flags (argparse), an unreadable workflow, --input on a task, approve
         without --yes when stdin is not a terminal, or the API refused the request as given (400, 404,
         409, 410, 422 — each problem it listed is printed)
    3    the run was cancelled
    4    the run waits for approval and the command stopped waiting ('run' with no terminal on stdin and
         no --wait, Ctrl-C, the approval lapsed with no decision recorded, or 'no' at approve's confirmation)
    5    cannot reach the platform (refused, timeout, not the API, 5xx) or authentication failed (401: no
         key or an unknown key; 403: the key lacks the role) — the message says which
    130  Ctrl-C while the run was still running; 141 the output pipe was closed
"""
