"""What the Bedrock and OpenAI end-to-end tests check the same way in a finished run's view."""

from __future__ import annotations

from typing import Any

TASK = "Echo alpha and beta slowly, then try the tool that always fails."
FINAL_ANSWER = "Alpha and beta came back; always_fails failed as expected."
FAIL_REASON = "lab is down"
USAGE = ((100, 20), (200, 10), (300, 15))
"""(input, output) tokens of the three scripted turns."""


def steps_by_id(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["id"]: step for step in view["steps"]}


def overlap(first: dict[str, Any], second: dict[str, Any]) -> bool:
    """Whether two steps' [started_at, finished_at] intervals overlap."""
    return bool(first["started_at"] < second["finished_at"] and second["started_at"] < first["finished_at"])


def assert_scripted_conversation(view: dict[str, Any], *, reasoner: str, model: str) -> None:
    """The run of the three-turn script: two slow echoes at once, then always_fails, then the answer."""
    # One of its calls failed and no later turn made it good: the answer does not stand on it, so the run failed.
    assert view["status"] == "failed", view
    assert (view["reasoner"], view["model"]) == (reasoner, model)
    assert view["final_answer"] == (
        FINAL_ANSWER + "\n\nSteps that failed:\n- call-3 lab.always_fails: always fails: lab is down"
    )
    assert view["error"] == "1 of 3 tool calls failed: lab.always_fails (always fails: lab is down)."
    assert view["kind"] == "task" and view["request"] == {"task": TASK}

    steps = steps_by_id(view)
    assert sorted(steps) == ["call-1", "call-2", "call-3"]
    echoes = [steps["call-1"], steps["call-2"]]
    # Model-facing names (lab__slow_echo) are mapped back to the MCP server and tool.
    assert sorted((s["server"], s["tool"], s["arguments"]["text"]) for s in echoes) == [
        ("lab", "slow_echo", "alpha"),
        ("lab", "slow_echo", "beta"),
    ]
    for step in echoes:
        assert step["status"] == "succeeded"
        assert step["arguments"]["seconds"] == 0.3
        assert step["result"]["text"] == step["arguments"]["text"]
        assert step["finished_at"] - step["started_at"] >= 0.29
    # Asked for in one turn, run concurrently: each started before the other finished.
    assert overlap(*echoes), echoes
    failed = steps["call-3"]
    assert (failed["server"], failed["tool"], failed["status"]) == ("lab", "always_fails", "failed")
    assert failed["arguments"] == {"reason": FAIL_REASON}
    assert f"always fails: {FAIL_REASON}" in failed["error"]
    assert failed["started_at"] >= max(step["finished_at"] for step in echoes)

    turns = view["turns"]
    assert [turn["index"] for turn in turns] == [1, 2, 3]
    assert [turn["stop_reason"] for turn in turns] == ["tool_use", "tool_use", "end_turn"]
    assert all(turn["model"] == model for turn in turns)
    assert [[(c["server"], c["tool"]) for c in turn["tool_calls"]] for turn in turns] == [
        [("lab", "slow_echo"), ("lab", "slow_echo")],
        [("lab", "always_fails")],
        [],
    ]
    assert turns[-1]["text"] == FINAL_ANSWER
    assert [(t["usage"]["input_tokens"], t["usage"]["output_tokens"]) for t in turns] == list(USAGE)
    assert view["usage"] == {
        "input_tokens": sum(tokens for tokens, _ in USAGE),
        "output_tokens": sum(tokens for _, tokens in USAGE),
    }
