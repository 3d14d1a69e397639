"""What an A2A message asks for: a skill (``run_task`` or a template's id) and its task text or inputs."""

from __future__ import annotations

from typing import Any

from a2a.helpers.proto_helpers import get_data_parts, get_text_parts
from a2a.types.a2a_pb2 import Message
from a2a.utils.errors import InvalidParamsError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from apps.agent_core.a2a.card import RUN_TASK_SKILL
from apps.agent_core.workflows.templates import get_template

MAX_TASK_CHARS = 10_000


class SkillCall(BaseModel):
    """The data part that picks a skill: ``{"skill": "weather_to_store", "inputs": {"location": "Paris"}}``."""

    model_config = ConfigDict(extra="forbid")

    skill: str = Field(min_length=1, max_length=100)
    inputs: dict[str, Any] = Field(default_factory=dict)


class RunRequest(BaseModel):
    """What ``RunService.start`` gets: a task in plain words, or a template's workflow with its inputs."""

    task: str | None = None
    workflow: dict[str, Any] | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)


def run_request(message: Message | None) -> RunRequest:
    """The run a message asks for; ``InvalidParamsError`` (JSON-RPC -32602) saying what is wrong otherwise."""
    if message is None:
        raise InvalidParamsError(message="the request carries no message")
    text = "\n".join(part for part in get_text_parts(message.parts) if part.strip()).strip()
    calls = get_data_parts(message.parts)
    if len(calls) > 1:
        raise InvalidParamsError(message="send at most one data part: {'skill': <id>, 'inputs': {...}}")
    call = SkillCall(skill=RUN_TASK_SKILL)
    if calls:
        try:
            call = SkillCall.model_validate(calls[0])
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'data'}: {e['msg']}" for e in exc.errors())
            raise InvalidParamsError(message=f"the data part is not a skill call: {problems}") from None
    if call.skill == RUN_TASK_SKILL:
        if call.inputs:
            raise InvalidParamsError(message="run_task takes no inputs: say the task in the message's text")
        if not text:
            raise InvalidParamsError(message="run_task needs the task in the message's text")
        if len(text) > MAX_TASK_CHARS:
            raise InvalidParamsError(message=f"the task is longer than {MAX_TASK_CHARS} characters")
        return RunRequest(task=text)
    template = get_template(call.skill)
    if template is None:
        raise InvalidParamsError(message=f"no skill {call.skill!r}: see the agent card's skills")
    workflow = template.workflow.model_dump(mode="json")
    # protobuf's Value holds every number as a double: 3 arrives as 3.0; give whole numbers back their type.
    return RunRequest(workflow=workflow, inputs={name: _whole(value) for name, value in call.inputs.items()})


def _whole(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole(item) for item in value]
    return value
