"""API tests run on SQLite and on PostgreSQL."""
import uuid

import pytest

from tests.conftest import PASSWORD, on_both_databases


database_url = on_both_databases()


class Phone:
    """A device of one user, speaking the sync protocol through the test client."""

    def __init__(self, client, username, password=PASSWORD):
        response = client.post("/api/auth/token", json={"username": username, "password": password,
                                                        "device_name": f"{username}'s phone"})
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        self.client, self.token, self.device, self.user = client, body["token"], body["device"], body["user"]
        self.cursor = None

    def sync(self, ops=(), **envelope):
        body = {"device": self.device, "cursor": self.cursor, "ops": list(ops)} | envelope
        response = self.client.post("/api/sync", json=body, headers={"Authorization": f"Bearer {self.token}"})
        if response.status_code == 200:
            self.cursor = response.get_json()["cursor"]
        return response


def journal(text="走访5户", record_id=None, base=None, unit=None, **fields):
    op = {"op": str(uuid.uuid4()), "type": "journal", "id": record_id or str(uuid.uuid4()), "base": base,
          "set": {"text": text, **fields}, "at": "2026-11-20T09:30:00+08:00"}
    return op | ({"unit": unit} if unit else {})


@pytest.fixture
def phone(client, world):
    return lambda username="sec1": Phone(client, username)
