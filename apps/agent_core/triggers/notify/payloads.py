"""What a notification says: one typed model (the generic webhook's body) and its Slack rendering.

Sizes are bounded so a long answer never makes a sink refuse the message: Slack takes at most 3000 characters in
a section's text and 150 in a header (https://api.slack.com/reference/block-kit/blocks); the generic body keeps
the answer and the error to ``ANSWER_CHARS`` each. Text is cut in its middle (``clipping.py``): an answer's
end, like an error's advice, is often what matters.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from apps.agent_core.clipping import clip_middle
from apps.agent_core.model import RunStatus, RunTrigger
from apps.agent_core.projection import RunView
from apps.agent_core.runs.events import NotificationOccasion

ANSWER_CHARS = 4000
"""The most of a final answer (and of an error) a generic webhook's body carries."""
ARGUMENTS_CHARS = 500
"""The most of a pending approval's arguments (as JSON) a notification shows."""
APPROVALS_SHOWN = 5
TITLE_CHARS = 200
SLACK_SECTION_CHARS = 3000
SLACK_HEADER_CHARS = 150
SLACK_FIELD_CHARS = 1900
SLACK_FALLBACK_CHARS = 300

_EMOJI: dict[str, str] = {
    "awaiting_approval": ":raised_hand:",
    "succeeded": ":white_check_mark:",
    "failed": ":x:",
    "cancelled": ":no_entry_sign:",
    "needs_attention": ":warning:",
}


class PendingApproval(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    tool: str
    """``server.tool``."""
    arguments: str
    """The arguments as JSON, cut to ``ARGUMENTS_CHARS``: a summary, not what is approved (that is in the run)."""
    expires_at: float


class RunNotification(BaseModel):
    """The generic webhook's JSON body (``version`` 1); the Slack message is rendered from it."""

    model_config = ConfigDict(frozen=True)

    version: Literal[1] = 1
    event: NotificationOccasion
    run_id: str
    status: RunStatus
    title: str = Field(max_length=TITLE_CHARS)
    trigger: RunTrigger
    final_answer: str | None = Field(default=None, max_length=ANSWER_CHARS)
    error: str | None = Field(default=None, max_length=ANSWER_CHARS)
    url: str | None = None
    """The run in the dashboard (``AGENTIC_DASHBOARD_URL``); ``None`` when that is not set."""
    approvals: list[PendingApproval] = Field(default_factory=list, max_length=APPROVALS_SHOWN)
    """For ``awaiting_approval``: what waits for a person, newest first."""


def run_link(dashboard_url: str | None, run_id: str) -> str | None:
    """The dashboard's route to one run (``dashboard/js/app.js``: ``#/runs/:id``)."""
    return f"{dashboard_url.rstrip('/')}/#/runs/{run_id}" if dashboard_url else None


def notification(view: RunView, event: NotificationOccasion, dashboard_url: str | None) -> RunNotification:
    pending = [approval for approval in view.approvals if approval.status == "pending"]
    pending.sort(key=lambda approval: approval.requested_at, reverse=True)
    return RunNotification(
        event=event,
        run_id=view.id,
        status=view.status,
        title=view.title[:TITLE_CHARS],
        trigger=view.trigger,
        final_answer=_clip(view.final_answer, ANSWER_CHARS),
        error=_clip(view.error, ANSWER_CHARS),
        url=run_link(dashboard_url, view.id),
        approvals=[
            PendingApproval(
                id=approval.id,
                tool=f"{approval.server}.{approval.tool}",
                arguments=clip_middle(json.dumps(approval.arguments, sort_keys=True, default=str), ARGUMENTS_CHARS),
                expires_at=approval.expires_at,
            )
            for approval in pending[:APPROVALS_SHOWN]
        ],
    )


def webhook_body(note: RunNotification) -> dict[str, Any]:
    return note.model_dump(mode="json")


def slack_message(note: RunNotification) -> dict[str, Any]:
    """A Slack incoming webhook's message: ``text`` (the notification's fallback) and Block Kit ``blocks``."""
    waiting = note.event == "awaiting_approval"
    emoji = _EMOJI.get("awaiting_approval" if waiting else note.status, ":information_source:")
    headline = (
        f"Waiting for approval: {note.title}" if waiting else f"Run {note.status.replace('_', ' ')}: {note.title}"
    )
    trigger = clip_middle(_escape(_trigger(note.trigger)), SLACK_FIELD_CHARS)
    fields = [_mrkdwn(f"*Status*\n{note.status}"), _mrkdwn(f"*Trigger*\n{trigger}")]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip_middle(headline, SLACK_HEADER_CHARS)}},
        {"type": "section", "fields": fields},
    ]
    for text in _body_texts(note):
        blocks.append({"type": "section", "text": _mrkdwn(text)})
    if note.url:
        label = "Decide in the dashboard" if waiting else "Open the run"
        blocks.append(
            {
                "type": "actions",
                "elements": [{"type": "button", "text": {"type": "plain_text", "text": label}, "url": note.url}],
            }
        )
    return {"text": clip_middle(f"{emoji} {headline}", SLACK_FALLBACK_CHARS), "blocks": blocks}


def _body_texts(note: RunNotification) -> list[str]:
    """The sections under the status: what waits for approval, or the answer and the error."""
    if note.event == "awaiting_approval":
        return [
            f"*Approve or reject* `{_escape(a.tool)}`\n```{_escape(clip_middle(a.arguments, 1000))}```"
            for a in note.approvals
        ]
    texts = []
    if note.final_answer:
        texts.append(_section("*Answer*\n", note.final_answer))
    if note.error:
        texts.append(_section("*Error*\n", note.error))
    return texts


def _section(label: str, text: str) -> str:
    # Escaping lengthens the text: cut what is left after it, so the section stays within Slack's limit.
    escaped = _escape(text)
    return label + clip_middle(escaped, SLACK_SECTION_CHARS - len(label))


def _trigger(trigger: RunTrigger) -> str:
    return f"{trigger.kind}: {trigger.name}" if trigger.name else trigger.kind


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def _escape(text: str) -> str:
    """Slack's three control characters (https://api.slack.com/reference/surfaces/formatting#escaping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str | None, limit: int) -> str | None:
    return clip_middle(text, limit) if text is not None else None
