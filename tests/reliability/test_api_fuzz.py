"""schemathesis against the agent core's own OpenAPI document, over real HTTP, with an API key.

Every operation in ``/api/openapi.json`` gets generated requests, valid and invalid (bodies, odd path and
query values); every response must be something other than a 5xx, carry a documented status and
content type, and match the documented schema. The agent core runs with API keys and calls the real MCP
servers. (schemathesis's lazy pytest integration needs pytest internals this pytest no longer has, so its
strategies are driven with ``@given``, one test per operation.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.agent_core.api.table import API_ROUTES
from tests.reliability.conftest import CoreKeys
from tests.reliability.profiles import PROFILES, fuzz_settings
from tests.support.agent_core import CoreClient

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
OPERATION_IDS = [f"{operation.method} {operation.path}" for operation in API_ROUTES]


@pytest.fixture(scope="module")
def api_schema(core: CoreClient) -> Iterator[BaseSchema]:
    yield schemathesis.openapi.from_url(core.url + "/api/openapi.json")


def test_the_document_lists_every_operation(api_schema: BaseSchema) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations() if isinstance(result, Ok)]
    listed = {f"{operation.method.upper()} {operation.path}" for operation in operations}
    assert listed == set(OPERATION_IDS)


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_every_operation_answers_as_documented(
    api_schema: BaseSchema, core: CoreClient, core_keys: CoreKeys, operation_id: str, profile: str
) -> None:
    method, path = operation_id.split(" ", 1)
    operation = api_schema[path][method]
    cases = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )
    headers = {"Authorization": f"Bearer {core_keys.everything}"}

    @fuzz_settings(profile, quick=40, soak=300)
    @given(case=cases)
    def fuzz(case: schemathesis.Case[Any]) -> None:
        # A generous timeout: POST /api waits for its run, and the runs call real MCP servers.
        case.call_and_validate(base_url=core.url, headers=headers, checks=CHECKS, timeout=60)

    fuzz()
