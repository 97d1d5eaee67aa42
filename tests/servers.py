"""The sync engine on each store behind one small interface: in memory, on SQLite, on PostgreSQL.

A test names users by username and units by code; the server turns them into
actors and ids, runs each call the way the app does (one SqlStore per request,
committed) and can read back what the store holds, so the same assertions run
against every store.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import uuid

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from sqlalchemy import delete, select, update

from sync import Actor, apply_ops, pull
from sync.engine import history, thread
from sync.memory import MemoryStore
from sync.types import TYPES
from tests.conftest import PASSWORD, make_app, postgres_url

STORES = ["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextlib.contextmanager
def opened_server(kind: str, tmp_path_factory, units, users, items=()):
    """units: (code, name, level, parent code); users: (username, role, unit code); items: the county's list.
    One server serves many tests (`reset` between them): migrating a database per test is what costs."""
    if kind == "memory":
        yield MemoryServer(units, users, items)
    elif kind == "sqlite":
        server = SqlServer(f"sqlite:///{tmp_path_factory.mktemp('store') / 'store.sqlite'}", units, users, items)
        yield server
        server.close()
    else:
        with _postgres_schema() as url:
            server = SqlServer(url, units, users, items)
            yield server
            server.close()


@contextlib.contextmanager
def _postgres_schema():
    base = postgres_url()
    schema = "t_" + uuid.uuid4().hex[:12]
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


class Server:
    """What both kinds share: the engine's entry points, by username."""
    actors: dict[str, Actor]
    unit_ids: dict[str, int]

    def run(self, call):
        raise NotImplementedError

    def apply(self, username, ops):
        return self.run(lambda store: apply_ops(store, self.actors[username], ops))

    def pull(self, username, cursor=0, limit=1000):
        return self.run(lambda store: pull(store, self.actors[username], cursor, limit))

    def pull_all(self, username, cursor=0, limit=1000) -> tuple[list[dict], int]:
        changes, more = [], True
        while more:
            page = self.pull(username, cursor, limit)
            changes, cursor, more = changes + page["changes"], page["cursor"], page["more"]
        return changes, cursor

    def history(self, username, rtype, record_id):
        return self.run(lambda store: history(store, self.actors[username], rtype, record_id))

    def thread(self, username, rtype, record_id):
        return self.run(lambda store: thread(store, self.actors[username], rtype, record_id))

    def close(self):
        pass


class MemoryServer(Server):
    def __init__(self, units, users, items=()):
        self.unit_ids = {code: n for n, (code, *_rest) in enumerate(units, start=1)}
        parents = {code: parent for code, _name, _level, parent in units}
        villages = [code for code, _name, level, _parent in units if level == "village"]

        def villages_under(code):
            return frozenset(self.unit_ids[v] for v in villages if code in _ancestry(v, parents))

        self.devices = {username: str(uuid.uuid4()) for username, _role, _unit in users}
        self.actors = {username: Actor(n, role, self.unit_ids[unit], villages_under(unit), self.devices[username],
                                       username)
                       for n, (username, role, unit) in enumerate(users, start=1)}
        self._spec = ({v: self.unit_ids[v] for v in villages},
                      {username: self.unit_ids[unit] for username, _role, unit in users},
                      {item["code"]: dict(item) for item in items},
                      {device: f"{username}'s phone" for username, device in self.devices.items()})
        self.reset()

    def reset(self):
        units, users, items, devices = self._spec
        self.store = MemoryStore(units=units, users=users, work_items=items, devices=devices)

    def run(self, call):
        return call(self.store)

    def records(self) -> dict:
        return {key: (row["version"], row["fields"], row["conflicts"]) for key, row in self.store.records.items()}

    def oplog(self) -> dict:
        return {op_id: (entry["status"], entry["conflicts"]) for op_id, entry in self.store.oplog.items()}

    def backdate(self, rtype, record_id, days):
        row = self.store.records[(rtype, record_id)]
        for key in ("created_at", "updated_at", "reached_at"):
            if row[key] is not None:
                row[key] -= dt.timedelta(days=days)


def _ancestry(code, parents):
    while code is not None:
        yield code
        code = parents[code]


class SqlServer(Server):
    def __init__(self, url, units, users, items=()):
        from app import scope
        from app.api import tokens
        from app.cli import add_unit, add_user
        from app.extensions import db
        from app.models import Unit, User
        from app.worklist import service as worklist

        self.app = make_app(url)
        with self.app.app_context():
            upgrade()
            self.unit_ids = {code: add_unit(code, name, level, parent).id for code, name, level, parent in units}
            for username, role, unit in users:
                add_user(username, role, unit, PASSWORD)
            db.session.commit()
            for county in db.session.scalars(select(Unit).where(Unit.level == "county")) if items else ():
                worklist.apply(county, worklist.plan(county, [dict(i) for i in items]), None, "test")
            db.session.commit()
            self.actors = {}
            for user in db.session.scalars(select(User)):
                device, _token = tokens.issue(user, f"{user.username}'s phone")
                self.actors[user.username] = scope.actor(user, device.id)

    def run(self, call):
        from app.extensions import db
        from app.sync_store import SqlStore
        with self.app.app_context():
            try:
                result = call(SqlStore())
                db.session.commit()
            except Exception:
                db.session.rollback()
                raise
            return result

    def reset(self):
        """Back to no records and no ops, keeping units, users and devices: cheaper than a new database."""
        from app.extensions import db
        from app.models import SYNCED_MODELS, OpLog, ReviewMark, SyncCounter
        with self.app.app_context():
            for model in (ReviewMark, OpLog, *SYNCED_MODELS.values()):
                db.session.execute(delete(model))
            db.session.execute(update(SyncCounter).values(value=0))
            db.session.commit()

    def records(self) -> dict:
        from app.extensions import db
        from app.models import SYNCED_MODELS
        from app.sync_store import record_fields
        with self.app.app_context():
            return {(rtype, row.id): (row.version, record_fields(row, TYPES[rtype].fields), list(row.conflicts or []))
                    for rtype, model in SYNCED_MODELS.items() for row in db.session.scalars(select(model))}

    def oplog(self) -> dict:
        from app.extensions import db
        from app.models import OpLog
        with self.app.app_context():
            return {entry.op_id: (entry.status, entry.conflicts or []) for entry in db.session.scalars(select(OpLog))}

    def backdate(self, rtype, record_id, days):
        from app.extensions import db
        from app.models import MILESTONES, SYNCED_MODELS
        model = SYNCED_MODELS[rtype]
        with self.app.app_context():
            row = db.session.get(model, record_id)
            for column in ("created_at", "updated_at", *([MILESTONES[rtype][1]] if rtype in MILESTONES else [])):
                if getattr(row, column) is not None:
                    setattr(row, column, getattr(row, column) - dt.timedelta(days=days))
            db.session.commit()

    def close(self):
        from app.extensions import db
        with self.app.app_context():
            db.engine.dispose()
