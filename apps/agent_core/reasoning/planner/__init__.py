"""The offline planner: tasks in plain words to tool calls over the live catalog, without a language model.

``text`` (words, stems, clauses) → ``scoring`` (which tool a clause asks for) → ``arguments`` (what
the clause says about its inputs) → ``steps`` (one call per clause, results passed on by workflow
references); ``schema`` and ``sql`` write SQL for questions about the database's data.
"""

from __future__ import annotations

from apps.agent_core.reasoning.planner.schema import Schema, parse_schema
from apps.agent_core.reasoning.planner.steps import Plan, PlannedStep, plan_task

__all__ = ["Plan", "PlannedStep", "Schema", "parse_schema", "plan_task"]
