"""Opening the store named by AGENTIC_STATE."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.agent_core.store import dynamodb_client, open_store
from apps.agent_core.store.dynamodb import DynamoDBRunStore
from apps.agent_core.store.sqlite import SqliteRunStore
from tests.apps.agent_core.store.helpers import make_header

pytestmark = pytest.mark.anyio


async def test_three_slashes_is_a_path_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite:///data/runs.db")
    assert isinstance(store, SqliteRunStore)
    await store.create(make_header("r"))
    await store.close()
    assert (tmp_path / "data" / "runs.db").is_file()


async def test_four_slashes_is_an_absolute_path(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/abs.db")
    assert isinstance(store, SqliteRunStore) and store.path == tmp_path / "abs.db"
    await store.close()
    assert (tmp_path / "abs.db").is_file()


async def test_dynamodb_url_uses_the_default_chain_and_region(aws_env: str, table: str) -> None:
    store = open_store(f"dynamodb://{table}")
    assert isinstance(store, DynamoDBRunStore) and store.table_name == table
    await store.check()  # reached moto through AWS_ENDPOINT_URL, with no endpoint in our code
    await store.create(make_header("r"))
    assert (await store.get("r")) is not None
    await store.close()


def test_region_falls_back_to_us_west_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    assert dynamodb_client().meta.region_name == "us-west-2"


def test_aws_region_wins_over_aws_default_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    assert dynamodb_client().meta.region_name == "eu-central-1"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "memory",
        "sqlite://runs.db",
        "sqlite:///",
        "sqlite:///:memory:",
        "postgres://x/y",
        "dynamodb://",
        "dynamodb://a b",
    ],
)
def test_other_urls_are_refused_naming_the_accepted_forms(url: str) -> None:
    with pytest.raises(ValueError, match=r"sqlite:///relative/path\.db.*dynamodb://<table name>"):
        open_store(url)
