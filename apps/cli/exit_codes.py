"""What the command line's exit status means; scripts branch on these, so they never change meaning.

======  ==========================================================================================
code    meaning
======  ==========================================================================================
0       the run succeeded, or the command did what it was asked (``--no-wait``, ``runs``, ``show``…)
1       the run failed or needs attention — a task fails when a tool call failed or was rejected
        (and no later retry of it worked), when nothing could be planned, or at its turn or token
        budget (``apps/agent_core/runs/outcome.py``); ``health`` found the platform degraded; a
        ``verify`` check failed (or warned, with ``--strict``)
2       usage or validation error: bad flags, an unreadable workflow file, the API refused the
        request as given (400, 404, 409, 410, 422 — every problem it listed is printed)
3       the run was cancelled
4       the run is waiting for approval and the command stopped waiting: ``run`` with no terminal on
        stdin (unless ``--wait``), Ctrl-C, the approval passed its expiry with no decision recorded,
        or 'no' at approve's confirmation
5       the platform cannot be reached, timed out, answered 5xx or not as the API does, or refused
        the API key (401: missing or unknown key; 403: the key lacks the role)
130     Ctrl-C while the run was still running: it goes on on the server
141     the output pipe was closed (``| head``)
======  ==========================================================================================
"""

from __future__ import annotations

OK = 0
RUN_FAILED = 1
USAGE = 2
CANCELLED = 3
AWAITING_APPROVAL = 4
UNAVAILABLE = 5
INTERRUPTED = 130
BROKEN_PIPE = 141

_BY_RUN_STATUS = {
    "succeeded": OK,
    "failed": RUN_FAILED,
    "needs_attention": RUN_FAILED,
    "cancelled": CANCELLED,
    "awaiting_approval": AWAITING_APPROVAL,
}

EPILOG = """\
exit codes:
  0    the run succeeded, or the command did what it was asked (show without --follow: the run was shown)
  1    the run failed or needs attention (a task: a tool call failed or was rejected, nothing could be
       planned, or it hit its budget); health found the platform degraded; a verify check failed
  2    usage or validation error (bad flags, unreadable file, 400/404/409/410/422 from the API)
  3    the run was cancelled
  4    the run waits for approval and the command stopped waiting (run with no terminal on stdin and no
       --wait, Ctrl-C, approval lapsed, 'no' at approve)
  5    cannot reach the platform, 5xx, or the API key was refused (401/403)
  130  Ctrl-C while the run was still running (it goes on on the server)
  141  the output pipe was closed (| head)

--json: one JSON document on stdout. For run and show --follow, the final run view once watching ends
(events are not printed; approval requests go to stderr); for errors, {"error", "message", "problems"}.

environment:
  AGENTIC_URL      the platform's URL (default http://127.0.0.1:8080)
  AGENTIC_API_KEY  the API key, sent as 'Authorization: Bearer <key>'
  NO_COLOR         set to turn colours off
"""


def for_run_status(status: str) -> int:
    """The exit code for a run that ended (or stopped being watched) in ``status``; still running is 130's job."""
    return _BY_RUN_STATUS.get(status, OK)
