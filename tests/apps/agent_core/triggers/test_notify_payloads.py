"""What a notification says: the generic JSON body and a Slack message valid per Block Kit's documented limits."""

from __future__ import annotations

from typing import Any

from apps.agent_core.model import RunHeader, RunTrigger
from apps.agent_core.projection import RunView, project
from apps.agent_core.runs.events import ApprovalRequested, Recorded, RunFinished, RunStarted
from apps.agent_core.triggers.notify.payloads import (
    ANSWER_CHARS,
    ARGUMENTS_CHARS,
    RunNotification,
    notification,
    slack_message,
    webhook_body,
)

TRIGGER = RunTrigger(kind="alert", id="crashloop", name="KubePodCrashLooping", notify=["oncall"])


def view(status: str, *, answer: str | None = None, error: str | None = None, approval: bool = False) -> RunView:
    header = RunHeader(
        id="r1",
        kind="workflow",
        status=status,  # type: ignore[arg-type]
        owner="trigger",
        title="Troubleshoot <pod> web-1 & co",
        request={"workflow": {}},
        reasoner="offline",
        created_at=1.0,
        updated_at=2.0,
        final_answer=answer,
        error=error,
        trigger=TRIGGER,
    )
    events: list[Any] = [RunStarted(kind="workflow", reasoner="offline", trigger=TRIGGER)]
    if approval:
        arguments = {"target": "web", "replicas": 3, "note": "x" * 5000}
        events.append(
            ApprovalRequested(
                id="a1",
                step_id="scale",
                server="lab",
                tool="scale",
                arguments=arguments,
                arguments_hash="0" * 64,
                requested_at=1.5,
                expires_at=901.5,
            )
        )
    if status in ("succeeded", "failed"):
        events.append(RunFinished(status=status, final_answer=answer, error=error))  # type: ignore[arg-type]
    return project(header, [Recorded(seq=n, at=float(n), event=e) for n, e in enumerate(events, start=1)])


def check_block_kit(message: dict[str, Any]) -> None:
    """Slack's documented structure for an incoming webhook's message (api.slack.com/reference/block-kit)."""
    assert isinstance(message["text"], str) and 0 < len(message["text"]) <= 40_000
    blocks = message["blocks"]
    assert 0 < len(blocks) <= 50
    for block in blocks:
        kind = block["type"]
        assert kind in {"header", "section", "actions", "context", "divider"}
        if kind == "header":
            assert block["text"]["type"] == "plain_text" and 0 < len(block["text"]["text"]) <= 150
        elif kind == "section":
            assert "text" in block or "fields" in block
            if "text" in block:
                assert block["text"]["type"] in {"mrkdwn", "plain_text"} and 0 < len(block["text"]["text"]) <= 3000
            for item in block.get("fields", []):
                assert item["type"] in {"mrkdwn", "plain_text"} and 0 < len(item["text"]) <= 2000
            assert len(block.get("fields", [])) <= 10
        elif kind == "actions":
            assert 0 < len(block["elements"]) <= 25
            for element in block["elements"]:
                assert element["type"] == "button"
                assert element["text"]["type"] == "plain_text" and 0 < len(element["text"]["text"]) <= 75
                assert element["url"].startswith("https://") and len(element["url"]) <= 3000


def test_a_finished_run_tells_status_trigger_answer_and_link() -> None:
    note = notification(
        view("succeeded", answer="All *good*: 3 pods <ready> & well"), "finished", "https://ui.example/"
    )
    body = webhook_body(note)
    assert body == {
        "version": 1,
        "event": "finished",
        "run_id": "r1",
        "status": "succeeded",
        "title": "Troubleshoot <pod> web-1 & co",
        "trigger": {
            "kind": "alert",
            "id": "crashloop",
            "name": "KubePodCrashLooping",
            "detail": {},
            "notify": ["oncall"],
        },
        "final_answer": "All *good*: 3 pods <ready> & well",
        "error": None,
        "url": "https://ui.example/#/runs/r1",
        "approvals": [],
    }
    assert RunNotification.model_validate(body) == note
    message = slack_message(note)
    check_block_kit(message)
    texts = str(message["blocks"])
    assert ":white_check_mark: Run succeeded" in message["text"]
    assert "*Status*\\nsucceeded" in texts and "alert: KubePodCrashLooping" in texts
    assert "3 pods &lt;ready&gt; &amp; well" in texts, "Slack's control characters are escaped"
    assert message["blocks"][-1]["elements"][0]["url"] == "https://ui.example/#/runs/r1"


def test_long_answers_and_errors_are_cut_to_the_bounds() -> None:
    answer = "start " + "word " * 5000 + " the end"
    note = notification(view("failed", answer=answer, error="<" * 9000 + " do this"), "finished", None)
    assert note.final_answer is not None and ANSWER_CHARS - 20 <= len(note.final_answer) <= ANSWER_CHARS
    assert note.final_answer.endswith("the end") and note.error is not None and note.error.endswith("do this")
    message = slack_message(note)
    check_block_kit(message)  # escaping '<' to '&lt;' does not push a section past 3000
    assert not any(block["type"] == "actions" for block in message["blocks"]), "no dashboard URL: no link"


def test_waiting_for_approval_names_the_tool_and_summarises_the_arguments() -> None:
    note = notification(view("awaiting_approval", approval=True), "awaiting_approval", "https://ui.example")
    [approval] = note.approvals
    assert approval.id == "a1" and approval.tool == "lab.scale" and approval.expires_at == 901.5
    assert len(approval.arguments) == ARGUMENTS_CHARS and approval.arguments.startswith('{"note": "xxx')
    assert approval.arguments.endswith('"replicas": 3, "target": "web"}')
    message = slack_message(note)
    check_block_kit(message)
    assert message["text"].startswith(":raised_hand: Waiting for approval")
    assert "`lab.scale`" in str(message["blocks"])
    assert message["blocks"][-1]["elements"][0]["text"]["text"] == "Decide in the dashboard"
