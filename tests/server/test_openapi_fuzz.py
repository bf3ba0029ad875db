"""schemathesis against the live server's own ``/openapi.json``: for every operation, bounded
generated requests (valid and invalid), authenticated, with ``{id}`` and ``{fid}`` bound to a
real assistant and feedback so that the handlers behind the 404 are reached too. No response
is a 5xx, and every response conforms to the description: its status is documented, its
content type and body match the documented schema.

Not checked: that every schema-valid request is accepted. Some rules are not expressible in
OpenAPI (an opaque ``PageToken`` must be the server's own, a NUL character is refused, an
end user is named by a field *or* a header), so a schema-valid request may rightly be a 400."""

from __future__ import annotations

import pytest
import schemathesis
from schemathesis import BaseSchema, Case
from schemathesis.config._checks import (
    NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES,
    NegativeDataRejectionConfig,
)
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.support.accounts import Account
from tests.support.http import create_feedback
from tests.support.server import LiveServer

EXAMPLES_PER_OPERATION = 25


@pytest.fixture
def api_schema(server: LiveServer, account: Account, assistant_id: str) -> BaseSchema:
    with server.client(auth=(account.sid, account.token)) as api:
        feedback_id = create_feedback(api, assistant_id, score=0.5, text="seed")["id"]
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    schema.config.update(
        base_url=server.url,
        basic_auth=(account.sid, account.token),
        parameters={"path.id": assistant_id, "path.fid": feedback_id},
    )
    # the same examples on every run: a failure reproduces, and the suite does not flake
    schema.config.generation.update(max_examples=EXAMPLES_PER_OPERATION, deterministic=True)
    # a body over 64 KiB is rightly refused with the 413 its operation documents
    schema.config.checks.negative_data_rejection = NegativeDataRejectionConfig(
        expected_statuses=[*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "413"]
    )
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.slow
@schema.parametrize()
def test_every_operation_answers_within_its_description(case: Case) -> None:
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
