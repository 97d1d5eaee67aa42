"""Schemathesis fuzzes the API from its own OpenAPI description: no 500s, responses match the schema."""
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from .conftest import Phone

# A photo's chunks (PATCH /api/attachments/<id>) are raw bytes under tus's own media type.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")


@pytest.fixture
def database_url(tmp_path):
    return f"sqlite:///{tmp_path / 'fuzz.sqlite'}"


def test_api_conforms_to_its_description(app, world):
    headers = {"Authorization": f"Bearer {Phone(app.test_client(), 'sec1').token}"}
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    paths = app.test_client().get("/api/openapi.json").get_json()["paths"]
    assert len(operations) == sum(len(methods) for methods in paths.values())

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
        def fuzz(case):
            case.call_and_validate(headers=headers)

        fuzz()
