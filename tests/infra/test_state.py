"""State tables: exactly the schemas the services use, on-demand, recoverable, encrypted, with TTL."""

from __future__ import annotations

from typing import Any

import pytest

from apps.agent_core.store import dynamodb as run_store
from apps.mcp_custom import kv_dynamodb
from infra.offline import ProgramRun, Registration
from tests.infra.support import run_with


class _RecordingClient:
    """Stands in for boto3's DynamoDB client: keeps the CreateTable request the app would send."""

    def __init__(self) -> None:
        self.request: dict[str, Any] = {}

    def create_table(self, **request: Any) -> None:
        self.request = request


def _table(run: ProgramRun, suffix: str) -> Registration:
    (table,) = [t for t in run.of_type("aws:dynamodb/table:Table") if t.name.endswith(suffix)]
    return table


def _gsis(inputs: dict[str, Any]) -> dict[str, tuple[list[tuple[str, str]], str]]:
    return {
        g["name"]: ([(k["attributeName"], k["keyType"]) for k in g["keySchemas"]], g["projectionType"])
        for g in inputs.get("globalSecondaryIndexes", [])
    }


def test_runs_table_matches_the_run_store_schema(program: ProgramRun) -> None:
    client = _RecordingClient()
    run_store.create_table(client, "runs", wait=False)  # type: ignore[arg-type]
    app = client.request
    table = _table(program, "-runs").inputs
    assert (table["hashKey"], table["rangeKey"]) == tuple(k["AttributeName"] for k in app["KeySchema"])
    assert {(a["name"], a["type"]) for a in table["attributes"]} == {
        (a["AttributeName"], a["AttributeType"]) for a in app["AttributeDefinitions"]
    }
    assert _gsis(table) == {
        g["IndexName"]: (
            [(k["AttributeName"], k["KeyType"]) for k in g["KeySchema"]],
            g["Projection"]["ProjectionType"],
        )
        for g in app["GlobalSecondaryIndexes"]
    }
    assert set(_gsis(table)) == {run_store.BY_CREATED, run_store.BY_STATUS}
    assert table["billingMode"] == app["BillingMode"] == "PAY_PER_REQUEST"


def test_kv_table_matches_the_key_value_store(program: ProgramRun) -> None:
    table = _table(program, "-kv").inputs
    names = kv_dynamodb._NAMES  # the attribute names the store's queries use
    assert (table["hashKey"], table["rangeKey"]) == (names["#ns"], names["#k"])
    assert {a["name"] for a in table["attributes"]} == {names["#ns"], names["#k"]}
    assert table["ttl"] == {"attributeName": names["#exp"], "enabled": True}
    assert "globalSecondaryIndexes" not in table


@pytest.mark.parametrize("suffix", ["-runs", "-kv"])
def test_tables_are_on_demand_recoverable_encrypted_with_ttl(program: ProgramRun, suffix: str) -> None:
    table = _table(program, suffix).inputs
    assert table["billingMode"] == "PAY_PER_REQUEST"
    assert table["pointInTimeRecovery"]["enabled"] is True
    assert table["serverSideEncryption"]["enabled"] is True
    assert table["ttl"] == {"attributeName": "expires_at", "enabled": True}
    assert table["deletionProtectionEnabled"] is False  # the dev stack's choice


def test_deletion_protection_follows_configuration() -> None:
    run = run_with({"stateDeletionProtection": "true"})
    assert run.error is None
    assert all(t.inputs["deletionProtectionEnabled"] is True for t in run.of_type("aws:dynamodb/table:Table"))


def test_table_names_are_exported(program: ProgramRun) -> None:
    assert program.exports["runsTableName"].value == _table(program, "-runs").outputs["name"]
    assert program.exports["kvTableName"].value == _table(program, "-kv").outputs["name"]
