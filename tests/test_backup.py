"""Backups: `flask --app app backup PATH` taken while phones sync, restored into a fresh database the way
docs/deployment.md says (SQLite: copy the file; PostgreSQL: pg_restore), with every record in it unchanged."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import threading
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from sqlalchemy import select, update

from app import demo
from app.backup import libpq_url
from app.extensions import db
from app.models import SYNCED_MODELS, Journal, OpLog, Unit, User

from .conftest import make_app, on_both_databases, postgres_url

database_url = on_both_databases()


pytestmark = pytest.mark.usefixtures("photo_dir")


def log_in(client, username: str) -> dict:
    response = client.post("/api/auth/token", json={"username": username, "password": demo.PASSWORD,
                                                    "device_name": f"{username}'s phone"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def sync(client, session: dict, ops: list[dict]) -> list[dict]:
    response = client.post("/api/sync", json={"device": session["device"], "cursor": None, "ops": ops},
                           headers={"Authorization": f"Bearer {session['token']}"})
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert all(r["status"] == "applied" for r in results), results
    return results


def op(rtype: str, fields: dict, record_id: str | None = None, base: int | None = None) -> dict:
    return {"op": str(uuid.uuid4()), "type": rtype, "id": record_id or str(uuid.uuid4()), "base": base,
            "set": fields, "at": "2026-03-02T09:30:00+08:00"}


@pytest.fixture
def filled(app, client, runner):
    """The demo county, and a secretary's week synced on top of it: new records, edited ones, a resident's name."""
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    shuji = log_in(client, "shuji")
    journals = [op("journal", {"text": f"第{day}天：走访{day}户。", "visits": day}) for day in range(1, 6)]
    ditch = op("problem", {"title": "村东头水渠渗漏", "detail": "约二十米", "urgent": True})
    wish = op("request", {"content": "希望修好村口路灯", "resident_name": "王大爷", "resident_contact": "13800001234"})
    sync(client, shuji, [*journals, ditch, wish])
    sync(client, shuji, [op("problem", {"detail": "约三十米，雨季前要修"}, ditch["id"], base=1),
                         op("journal", {"reflection": "先修水渠。"}, journals[0]["id"], base=1)])
    sync(client, shuji, [op("problem", {"owner": "cunwei"}, ditch["id"], base=2)])


# What the busy writer changes besides adding its journals: its village's time of last sync.
MOVING = {"units": {"last_sync_at"}}


def contents(app) -> dict:
    """Every row of the synced records, the op log, units and users, by table and primary key."""
    tables = [model.__table__ for model in (*SYNCED_MODELS.values(), OpLog, Unit, User)]

    def kept(table, row):
        return {name: value for name, value in row.items() if name not in MOVING.get(table.name, ())}

    with app.app_context():
        return {table.name: {tuple(row[c.name] for c in table.primary_key): kept(table, row)
                             for row in db.session.execute(select(table)).mappings()} for table in tables}


class BusyWriter(threading.Thread):
    """A phone that syncs a new journal per request, as fast as the server takes them, until stopped."""

    def __init__(self, app):
        super().__init__(daemon=True)
        self.client = app.test_client()
        self.session = log_in(self.client, "cunwei")
        self.committed: list[str] = []
        self.progress = threading.Condition()
        self.stopping = threading.Event()
        self.failure: BaseException | None = None

    def run(self):
        try:
            while not self.stopping.is_set():
                entry = op("journal", {"text": "备份时写下的日志"})
                sync(self.client, self.session, [entry])
                with self.progress:
                    self.committed.append(entry["id"])
                    self.progress.notify_all()
        except BaseException as error:  # noqa: BLE001 (reported by the test, not lost in the thread)
            self.failure = error
            with self.progress:
                self.progress.notify_all()

    def wait_for(self, count: int) -> list[str]:
        with self.progress:
            assert self.progress.wait_for(lambda: len(self.committed) >= count or self.failure, 60)
        assert self.failure is None, self.failure
        return list(self.committed)

    def stop(self):
        self.stopping.set()
        self.join(60)
        assert self.failure is None, self.failure


def backup(runner, path: Path) -> str:
    result = runner.invoke(args=["backup", str(path)])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def restore(database_url, tmp_path):
    """Restore a backup as docs/deployment.md says, into a fresh database; yields the app on it."""
    apps, databases = [], []

    def restored(backup_file: Path):
        if database_url.startswith("sqlite"):
            target = tmp_path / "restored" / "zhucun.sqlite"
            target.parent.mkdir()
            shutil.copyfile(backup_file, target)
            url = f"sqlite:///{target}"
        else:
            url = fresh_postgres_database(database_url, databases)
            run(["pg_restore", "--no-owner", "--single-transaction", f"--dbname={libpq_url(sa.make_url(url))}",
                 str(backup_file)])
        app = make_app(url)
        with app.app_context():
            upgrade()  # at head already: the migrations' own table came back with the rest
        apps.append(app)
        return app

    yield restored
    for app in apps:
        with app.app_context():
            db.engine.dispose()
    drop_postgres_databases(databases)


def fresh_postgres_database(schema_url: str, made: list[str]) -> str:
    name = "restore_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(postgres_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    made.append(name)
    return sa.make_url(schema_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres_databases(names: list[str]) -> None:
    if not names:
        return
    admin = sa.create_engine(postgres_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in names:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def run(command: list[str]) -> None:
    if shutil.which(command[0]) is None:
        message = f"{command[0]} is missing (make test installs postgresql-client)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.fixture
def pg_tools(database_url):
    if not database_url.startswith("sqlite") and shutil.which("pg_dump") is None:
        message = "pg_dump is missing (make test installs postgresql-client)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)


def test_a_backup_taken_while_a_phone_syncs_restores_every_record(app, filled, runner, restore, tmp_path, pg_tools):
    writer = BusyWriter(app)
    before = contents(app)
    writer.start()
    try:
        written_before = writer.wait_for(3)
        output = backup(runner, tmp_path / "zhucun.backup")
        writer.wait_for(len(writer.committed) + 1)  # and the server goes on writing after it
    finally:
        writer.stop()
    assert "zhucun.backup" in output and f"{(tmp_path / 'zhucun.backup').stat().st_size:,} bytes" in output

    restored = contents(restore(tmp_path / "zhucun.backup"))
    for table, rows in before.items():
        for key, row in rows.items():
            assert restored[table].get(key) == row, (table, key)
    # The copy is one moment of the database: every journal the writer had been told was saved, and for each
    # journal of the writer its op, neither without the other.
    during = {key[0] for key in restored["journals"].keys() - before["journals"].keys()}
    assert set(written_before) <= during <= set(writer.committed)
    logged = {row["record_id"] for key, row in restored["op_log"].items() if key not in before["op_log"]}
    assert logged == during
    assert len(restored["op_log"]) == len(before["op_log"]) + len(during)
    assert len(before["journals"]) > 5 and before["problems"] and before["requests"]


def test_a_write_left_open_neither_holds_up_the_backup_nor_gets_into_it(app, filled, runner, restore, tmp_path,
                                                                       pg_tools):
    with app.app_context():
        journal_id, text = db.session.execute(select(Journal.id, Journal.text).limit(1)).one()
        with db.engine.connect() as writer:
            writer.execute(update(Journal).where(Journal.id == journal_id).values(text="还没有提交的修改"))
            backup(runner, tmp_path / "zhucun.backup")
            writer.commit()
    restored = restore(tmp_path / "zhucun.backup")
    with restored.app_context():
        assert db.session.get(Journal, journal_id).text == text
    with app.app_context():
        assert db.session.get(Journal, journal_id).text == "还没有提交的修改"


def test_backups_into_a_folder_get_a_dated_name_only_their_owner_may_read(app, filled, runner, tmp_path, pg_tools):
    folder = tmp_path / "backups"
    folder.mkdir()
    backup(runner, folder)
    [made] = [p for p in folder.iterdir() if p.name != "attachments"]  # the demo's photos go beside it
    assert made.name.startswith("zhucun-") and made.suffix in (".sqlite", ".dump")
    assert stat.S_IMODE(made.stat().st_mode) == 0o600  # residents' names and phone numbers are in it
    assert sorted(p.name for p in folder.iterdir()) == sorted([made.name, "attachments"])

    refused = runner.invoke(args=["backup", str(made)])
    assert refused.exit_code != 0 and "exists already" in refused.output
    assert sorted(p.name for p in folder.iterdir()) == sorted([made.name, "attachments"])
    assert runner.invoke(args=["backup", str(made), "--overwrite"]).exit_code == 0


def test_the_photo_folder_is_copied_beside_the_backup_and_kept_up_to_date(app, world, runner, photo_dir, tmp_path,
                                                                         pg_tools):
    photos = photo_dir
    (photos / "partial").mkdir(parents=True)
    first = {"a1": b"\xff\xd8 photo one", "a1.thumb.jpg": b"\xff\xd8 thumb one", "partial/b2": b"half of it"}
    for key, data in first.items():
        (photos / key).write_bytes(data)
    (photos / "a1.thumb.jpg.tmp").write_bytes(b"a put that never finished")
    folder = tmp_path / "backups"
    folder.mkdir()

    backup(runner, folder / "night-1")
    copy = folder / "attachments"
    assert {str(p.relative_to(copy)) for p in copy.rglob("*") if p.is_file()} == set(first)
    for key, data in first.items():
        assert (copy / key).read_bytes() == data
        assert stat.S_IMODE((copy / key).stat().st_mode) == 0o600  # residents' photos
    assert stat.S_IMODE(copy.stat().st_mode) == 0o700

    # The next night: b2 completed and the partial went; a photo of an older backup's is kept for it.
    (photos / "partial" / "b2").unlink()
    (photos / "b2").write_bytes(b"\xff\xd8 photo two")
    (photos / "a1").unlink()  # gone from the server since: the older backups, whose database lists it, need it
    backup(runner, folder / "night-2")
    assert sorted(p.name for p in folder.iterdir()) == ["attachments", "night-1", "night-2"]
    assert (copy / "b2").read_bytes() == b"\xff\xd8 photo two"
    assert (copy / "a1").read_bytes() == first["a1"]
    assert not (copy / "partial" / "b2").exists()
    assert not list(copy.rglob("*.partial")) and not list(copy.rglob("*.tmp"))


def test_a_backup_without_photo_files_copies_none(app, world, runner, tmp_path, pg_tools):
    folder = tmp_path / "backups"
    folder.mkdir()
    backup(runner, folder)
    assert [p.suffix for p in folder.iterdir()] in ([".sqlite"], [".dump"])
