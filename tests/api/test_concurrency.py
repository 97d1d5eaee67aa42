"""Several phones write at once while another pages through changes: nothing committed is missed.
Writers of different counties never wait for each other: each county has its own counter row."""
import threading

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from app import scope
from app.cli import add_unit, add_user
from app.extensions import db
from app.models import Journal, User
from app.sync_store import SqlStore
from sync import Actor, apply_ops, parse_envelope, pull
from tests.conftest import PASSWORD

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


@pytest.fixture
def second_county(app, world):
    """乙县, beside the world's county: a township, two villages, their secretaries and an admin."""
    with app.app_context():
        add_unit("B", "乙县", "county", None)
        add_unit("BT", "乙镇", "township", "B")
        for village, secretary in (("BV1", "secB1"), ("BV2", "secB2")):
            add_unit(village, f"{village}村", "village", "BT")
            add_user(secretary, "secretary", village, PASSWORD)
        add_user("adminB", "admin", "B", PASSWORD)
        db.session.commit()


def actor_of(username: str) -> Actor:
    return scope.actor(db.session.scalar(select(User).where(User.username == username)))


@pytest.mark.postgres
def test_a_writer_of_another_county_commits_while_a_countys_open_transaction_holds_its_counter(app, second_county):
    other_county = Phone(app.test_client(), "secB1")
    holder = app.app_context()
    holder.push()
    outcome, writer = {}, threading.Thread(
        target=lambda: outcome.update(response=other_county.sync([journal("乙县的日志")])))
    try:
        apply_ops(SqlStore(), actor_of("sec1"), [journal("县里的事务还开着")])  # not committed: 县's counter stays taken
        with app.app_context():  # the control: a writer of the same county would wait (here it gives up)
            db.session.execute(text("SET LOCAL lock_timeout = '100ms'"))
            with pytest.raises(OperationalError, match="lock timeout"):
                SqlStore().begin_writes([], actor_of("sec2"))
            db.session.rollback()

        writer.start()
        writer.join(timeout=30)
        assert not writer.is_alive(), "the writer of 乙县 waited for the open transaction of 县"
        body = outcome["response"].get_json()
        assert outcome["response"].status_code == 200 and body["results"][0]["status"] == "applied"
        assert body["cursor"] == 1  # 乙县's own sequence
        with app.app_context():
            committed = set(db.session.scalars(select(Journal.text)))
        assert committed == {"乙县的日志"}  # committed while 县's transaction is still open
        db.session.commit()
    finally:
        db.session.rollback()
        holder.pop()
        if writer.ident is not None:
            writer.join()
    with app.app_context():
        assert set(db.session.scalars(select(Journal.text))) == {"乙县的日志", "县里的事务还开着"}


@pytest.mark.postgres
def test_writers_of_two_counties_at_once_each_reader_misses_nothing_and_no_number_is_skipped(app, second_county):
    writers = [Phone(app.test_client(), name) for name in ("sec1", "sec2", "secB1", "secB2")]
    readers = {"C": Phone(app.test_client(), "admin"), "B": Phone(app.test_client(), "adminB")}
    with app.app_context():
        county, other = actor_of("admin"), actor_of("adminB")
        # A scope over both counties (the engine's, no unit spans counties today): its cursor is a string.
        both = Actor(county.user_id, "admin", county.home_unit_id, county.village_ids | other.village_ids)
    seen = {name: set() for name in (*readers, "both")}
    both_cursor, failures = [None], []

    def write(phone):
        try:
            for _ in range(REQUESTS):
                response = phone.sync([journal("并发写入") for _ in range(OPS)])
                assert response.status_code == 200, response.get_json()
        except Exception as error:
            failures.append(error)

    def read_pages() -> bool:
        more = False
        for name, reader in readers.items():
            body = reader.sync(limit=7).get_json()
            seen[name].update(change["id"] for change in body["changes"])
            more |= body["more"]
        with app.app_context():
            page = pull(SqlStore(), both, parse_envelope({"cursor": both_cursor[0]}).cursor, 7)
            db.session.rollback()
        seen["both"].update(change["id"] for change in page["changes"])
        both_cursor[0] = page["cursor"]
        return more or page["more"]

    threads = [threading.Thread(target=write, args=(phone,)) for phone in writers]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        read_pages()
    while read_pages():
        pass
    assert not failures
    with app.app_context():
        rows = db.session.execute(select(Journal.id, Journal.county_id, Journal.seq)).all()
        counties = {"C": county.home_unit_id, "B": other.home_unit_id}
    for name, county_id in counties.items():
        mine = [row for row in rows if row.county_id == county_id]
        assert len(mine) == 2 * REQUESTS * OPS
        assert sorted(row.seq for row in mine) == list(range(1, len(mine) + 1))  # every number, once
        assert seen[name] == {row.id for row in mine}
    assert seen["both"] == {row.id for row in rows}
