"""Several phones write at once while another pages through changes: nothing committed is missed."""
import threading

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Journal

from .conftest import Phone, journal

WRITERS = ("sec1", "cadre1", "sec12", "sec2")
REQUESTS, OPS = 12, 5


@pytest.fixture
def database_url(postgres_schema_url):
    return postgres_schema_url


@pytest.mark.postgres
def test_reader_paging_with_the_cursor_never_misses_a_concurrent_write(app, world):
    phones = [Phone(app.test_client(), name) for name in WRITERS]
    reader = Phone(app.test_client(), "admin")
    seen, failures = set(), []

    def write(phone):
        try:
            for _ in range(REQUESTS):
                response = phone.sync([journal("并发写入") for _ in range(OPS)])
                assert response.status_code == 200, response.get_json()
        except Exception as error:
            failures.append(error)

    def read_page() -> bool:
        body = reader.sync(limit=7).get_json()
        seen.update(change["id"] for change in body["changes"])
        return body["more"]

    threads = [threading.Thread(target=write, args=(phone,)) for phone in phones]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        read_page()
    while read_page():
        pass
    assert not failures
    with app.app_context():
        committed = set(db.session.scalars(select(Journal.id)))
    assert len(committed) == len(WRITERS) * REQUESTS * OPS
    assert seen == committed
