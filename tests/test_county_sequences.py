"""The change sequence is per county: each county's numbers are its own, gap-free and in order; a scope inside
one county keeps an integer cursor, one spanning counties an opaque string it passes back unchanged. Run on
every store (memory, SQLite, PostgreSQL), and on the migration that brought the per-county sequence in."""
import base64
import contextlib
import json
import uuid

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from sync import Actor, EnvelopeError, parse_envelope
from sync.envelope import cursor_string
from tests.conftest import make_app
from tests.servers import STORES, MemoryServer, opened_server

UNITS = [("A", "甲县", "county", None), ("AT", "甲镇", "township", "A"),
         ("AV1", "甲一村", "village", "AT"), ("AV2", "甲二村", "village", "AT"),
         ("B", "乙县", "county", None), ("BT", "乙镇", "township", "B"), ("BV1", "乙一村", "village", "BT")]
USERS = [("secA", "secretary", "AV1"), ("secA2", "secretary", "AV2"), ("staffA", "township_staff", "AT"),
         ("adminA", "admin", "A"), ("secB", "secretary", "BV1"), ("adminB", "admin", "B")]
AT = "2026-11-20T09:30:00+08:00"


class CountiesMemoryServer(MemoryServer):
    """The in-memory store told which county each village is in (tests/servers.py's puts all in one)."""

    def __init__(self, units, users):
        parents = {code: parent for code, _name, _level, parent in units}

        def county(code):
            while parents[code] is not None:
                code = parents[code]
            return code

        self._villages = {code: county(code) for code, _name, level, _parent in units if level == "village"}
        super().__init__(units, users)

    def reset(self):
        super().reset()
        self.store.county_of = {self.unit_ids[v]: self.unit_ids[c] for v, c in self._villages.items()}


@pytest.fixture(scope="module", params=STORES)
def opened(request, tmp_path_factory):
    with contextlib.ExitStack() as stack:
        if request.param == "memory":
            server = CountiesMemoryServer(UNITS, USERS)
        else:
            server = stack.enter_context(opened_server(request.param, tmp_path_factory, UNITS, USERS))
        # An admin over both counties: no unit spans counties today, but the engine must serve one (DESIGN.md).
        a, b = server.actors["adminA"], server.actors["adminB"]
        server.actors["province"] = Actor(a.user_id, "admin", a.home_unit_id, a.village_ids | b.village_ids,
                                          a.device_id, "adminA")
        yield server


@pytest.fixture
def server(opened):
    opened.reset()
    return opened


def journals(n, prefix="日志"):
    return [{"op": str(uuid.uuid4()), "type": "journal", "id": str(uuid.uuid4()), "base": None,
             "set": {"text": f"{prefix}{i}"}, "at": AT} for i in range(n)]


def texts(page):
    return [change["fields"]["text"] for change in page["changes"]]


def test_each_county_numbers_its_own_changes_from_one_without_gaps(server):
    server.apply("secA", journals(3, "甲"))
    server.apply("secB", journals(2, "乙"))
    server.apply("secA2", journals(1, "甲二"))
    county_a, county_b = server.pull("adminA"), server.pull("adminB")
    assert (county_a["cursor"], county_b["cursor"]) == (4, 2)
    assert texts(county_a) == ["甲0", "甲1", "甲2", "甲二0"] and texts(county_b) == ["乙0", "乙1"]
    # A phone pages through its county one number at a time: every number is a change, none skipped.
    cursors, cursor, more = [], 0, True
    while more:
        page = server.pull("staffA", cursor, 1)
        cursor, more = page["cursor"], page["more"]
        cursors.append(cursor)
    assert cursors == [1, 2, 3, 4]


def test_a_write_in_another_county_moves_nothing_in_this_one(server):
    server.apply("secA", journals(2))
    _, cursor = server.pull_all("secA")
    server.apply("secB", journals(5))
    assert server.pull("secA", cursor) == {"changes": [], "cursor": cursor, "more": False}
    server.apply("secA", journals(1, "新"))
    assert texts(server.pull("secA", cursor)) == ["新0"]


def test_a_scope_inside_one_county_has_an_integer_cursor(server):
    server.apply("secA", journals(1))
    server.apply("secB", journals(1))
    for user in ("secA", "staffA", "adminA", "secB", "adminB"):
        assert type(server.pull(user)["cursor"]) is int, user


def test_a_scope_spanning_counties_pages_through_both_with_an_opaque_cursor(server):
    server.apply("secA", journals(3, "甲"))
    server.apply("secB", journals(3, "乙"))
    seen, cursor, more = [], None, True
    while more:
        page = server.pull("province", parse_envelope({"cursor": cursor}).cursor, 2)
        assert isinstance(page["cursor"], str)
        seen += texts(page)
        cursor, more = page["cursor"], page["more"]
    assert sorted(seen) == ["乙0", "乙1", "乙2", "甲0", "甲1", "甲2"]
    assert seen.index("甲0") < seen.index("甲1") < seen.index("甲2") and seen.index("乙0") < seen.index("乙2")

    server.apply("secB", journals(1, "乙新"))
    server.apply("secA", journals(1, "甲新"))
    page = server.pull("province", parse_envelope({"cursor": cursor}).cursor)
    assert sorted(texts(page)) == ["乙新0", "甲新0"] and page["more"] is False
    again = server.pull("province", parse_envelope({"cursor": page["cursor"]}).cursor)
    assert again == {"changes": [], "cursor": page["cursor"], "more": False}


def test_a_page_that_ends_in_one_county_leaves_the_next_county_where_it_was(server):
    server.apply("secA", journals(2, "甲"))
    server.apply("secB", journals(2, "乙"))
    first = server.pull("province", 0, 3)
    assert first["more"] is True and len(first["changes"]) == 3
    rest = server.pull("province", parse_envelope({"cursor": first["cursor"]}).cursor, 3)
    assert rest["more"] is False
    assert sorted(texts(first) + texts(rest)) == ["乙0", "乙1", "甲0", "甲1"]


def test_an_integer_given_to_a_scope_spanning_counties_skips_nothing(server):
    """A scope that has grown past its county cannot tell whose number the integer is: everything again."""
    server.apply("secA", journals(2, "甲"))
    server.apply("secB", journals(2, "乙"))
    _, cursor = server.pull_all("adminA")
    assert sorted(texts(server.pull("province", cursor))) == ["乙0", "乙1", "甲0", "甲1"]


def test_a_scope_inside_one_county_given_a_string_takes_its_countys_position(server):
    server.apply("secA", journals(3, "甲"))
    server.apply("secB", journals(1, "乙"))
    spanning = server.pull("province")["cursor"]
    server.apply("secA", journals(1, "新"))
    page = server.pull("adminA", parse_envelope({"cursor": spanning}).cursor)
    assert texts(page) == ["新0"] and type(page["cursor"]) is int


def test_a_county_the_string_does_not_name_comes_from_the_start(server):
    server.apply("secA", journals(1, "甲"))
    server.apply("secB", journals(1, "乙"))
    only_a = cursor_string({server.unit_ids["A"]: 1})
    assert texts(server.pull("province", parse_envelope({"cursor": only_a}).cursor)) == ["乙0"]


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


@pytest.mark.parametrize("cursor", [
    -1, 2**63, 1.5, True, [], {}, "", "12", "not base64!", "%%%%", "=abc", "a" * 131073,
    _b64("[1, 2]"), _b64('{"3": -1}'), _b64('{"3": 1.0}'), _b64('{"3": true}'), _b64('{"x": 1}'),
    _b64('{"03": 1}'), _b64('{"3": 1'), _b64('{"3": 9223372036854775808}'), _b64("[" * 50_000),
    base64.urlsafe_b64encode(b"\xff\xfe{").decode(),
])
def test_a_cursor_that_is_not_one_the_server_gave_is_a_bad_envelope(cursor):
    with pytest.raises(EnvelopeError) as error:
        parse_envelope({"cursor": cursor})
    assert (error.value.code, error.value.field) == ("bad_envelope", "cursor")


@pytest.mark.parametrize("cursor, parsed", [
    (None, 0), (0, 0), (41, 41), (2**63 - 1, 2**63 - 1),
    (cursor_string({3: 17, 12: 0}), {3: 17, 12: 0}), (_b64('{"7":5}'), {7: 5}), (_b64("{}"), {}),
])
def test_a_cursor_the_server_gave_parses(cursor, parsed):
    assert parse_envelope({"cursor": cursor}).cursor == parsed


def test_the_string_cursor_is_url_safe_base64_of_each_countys_position():
    text = cursor_string({12: 0, 3: 17})
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))) == {"3": 17, "12": 0}


# The migration: the old server-wide sequence becomes every county's starting point.

@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def migrated_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrate.sqlite'}"
    return request.getfixturevalue("postgres_schema_url")


def _old_world(connection):
    """Two counties on the old schema: journals numbered by the one server-wide counter, now at 5."""
    units = [(1, "A", "county", None, "/1/"), (2, "AT", "township", 1, "/1/2/"), (3, "AV", "village", 2, "/1/2/3/"),
             (4, "B", "county", None, "/4/"), (5, "BT", "township", 4, "/4/5/"), (6, "BV", "village", 5, "/4/5/6/")]
    for unit_id, code, level, parent, path in units:
        connection.execute(sa.text("INSERT INTO units (id, code, name, level, parent_id, path) "
                                   "VALUES (:id, :code, :code, :level, :parent, :path)"),
                           {"id": unit_id, "code": code, "level": level, "parent": parent, "path": path})
    connection.execute(sa.text("INSERT INTO users (id, username, password_hash, role, unit_id, active, created_at) "
                               "VALUES (1, 'u', 'x', 'admin', 1, true, '2026-11-20 00:00:00')"))
    for seq, village in [(1, 3), (2, 6), (3, 3), (4, 6), (5, 3)]:
        connection.execute(sa.text(
            "INSERT INTO journals (id, unit_id, created_by, updated_by, created_at, updated_at, version, "
            "field_versions, deleted, seq, conflicts, date, text) VALUES (:id, :unit, 1, 1, '2026-11-20 00:00:00', "
            "'2026-11-20 00:00:00', 1, '{}', false, :seq, '[]', '2026-11-20', :text)"),
            {"id": f"j{seq}", "unit": village, "seq": seq, "text": f"第{seq}"})
    connection.execute(sa.text("UPDATE sync_counter SET value = 5"))


def test_the_migration_starts_every_county_where_the_server_wide_sequence_was(migrated_url):
    app = make_app(migrated_url)
    with app.app_context():
        from app.extensions import db
        upgrade(revision="0008_rate_limit_counters")
        with db.engine.begin() as connection:
            _old_world(connection)
        upgrade()
        with db.engine.connect() as connection:
            counters = dict(connection.execute(sa.text("SELECT county_id, value FROM sync_counters")).all())
            rows = sorted(connection.execute(sa.text("SELECT id, county_id, seq FROM journals")).all())
        assert counters == {1: 5, 4: 5}  # a cursor a phone holds (≤ 5) is still exact in either county
        assert rows == [("j1", 1, 1), ("j2", 4, 2), ("j3", 1, 3), ("j4", 4, 4), ("j5", 1, 5)]

        downgrade(revision="0008_rate_limit_counters")
        with db.engine.connect() as connection:
            counter = connection.execute(sa.text("SELECT value FROM sync_counter")).scalar()
            seqs = sorted(connection.execute(sa.text("SELECT seq FROM journals")).scalars())
        # Numbered anew above every county's counter: no cursor skips a record, each scope pulls once more.
        assert (counter, seqs) == (10, [6, 7, 8, 9, 10])
        db.engine.dispose()
