"""The keys of the run store's DynamoDB items and the reading of header items (layout in ``dynamodb.py``).

A run's items share its partition key. Their sort keys order as ``EVENT#…`` < ``HEADER`` < ``ONCE#…``,
so the events are one contiguous key range and a query for them never meets the other items.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from apps.agent_core.model import RunHeader
from apps.agent_core.store.base import StoreError
from apps.agent_core.store.codec import parse_header

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

__all__ = ["SEQ_DIGITS", "Item", "event_sk", "header_of", "once_sk", "pk", "run_key"]

Item = dict[str, "AttributeValueTypeDef"]

SEQ_DIGITS = 10
_HEADER_SK = "HEADER"
_EVENT_PREFIX = "EVENT#"
_ONCE_PREFIX = "ONCE#"


def pk(run_id: str) -> str:
    return f"RUN#{run_id}"


def run_key(run_id: str) -> Item:
    return {"pk": {"S": pk(run_id)}, "sk": {"S": _HEADER_SK}}


def event_sk(seq: int) -> str:
    return f"{_EVENT_PREFIX}{seq:0{SEQ_DIGITS}d}"


def once_sk(key: str) -> str:
    return f"{_ONCE_PREFIX}{key}"


def header_of(item: Item) -> RunHeader:
    try:
        text, version = item["header"]["S"], int(item["version"]["N"])
    except (KeyError, ValueError) as exc:
        raise StoreError("a stored run header item is damaged (header or version missing)") from exc
    return parse_header(text, version)
