"""The pull on a county at scale (bench/county.py's data): one page of changes for a village, a township and the
county, from the start, from the middle of the year and from a week ago — with each choice of index on the
sequence, and the plan of the journals' query as the database explains it.

Usage: python bench/pull.py [--database sqlite|postgresql|both] [--scale 1.0] [--repeat 15] [--explain]
PostgreSQL uses TEST_DATABASE_URL (a throwaway schema, dropped afterwards).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from bench.databases import each_database  # noqa: E402
from app import create_app, scope  # noqa: E402
from app.cli import add_user  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import SYNCED_MODELS, SyncCounter, User  # noqa: E402
from app.sync_store import SqlStore  # noqa: E402
from bench.county import COUNTS, PASSWORD, build_county  # noqa: E402
from sync import pull  # noqa: E402

PAGE = 200
SCOPES = {"village (1)": "sT00V03", "township (15 villages)": "staff", "county (300 villages)": "admin"}
# Which of the two indexes on the sequence each variant keeps; ix_<table>_unit_id stays in every one.
VARIANTS = {"both": ("county_seq", "unit_seq"), "(unit_id, seq) only": ("unit_seq",),
            "(county_id, seq) only": ("county_seq",), "neither": ()}
INDEX_COLUMNS = {"county_seq": ("county_id", "seq"), "unit_seq": ("unit_id", "seq")}


def set_indexes(keep: tuple[str, ...]) -> None:
    for model in SYNCED_MODELS.values():
        table = model.__tablename__
        for name, columns in INDEX_COLUMNS.items():
            db.session.execute(sa.text(f"DROP INDEX IF EXISTS ix_{table}_{name}"))
            if name in keep:
                db.session.execute(sa.text(f"CREATE INDEX ix_{table}_{name} ON {table} ({', '.join(columns)})"))
    db.session.commit()
    if db.engine.dialect.name == "postgresql":  # as autovacuum would; the app never runs SQLite's ANALYZE
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()


def number_in_time_order() -> None:
    """bench/county.py numbers its rows kind by kind; a real county's sequence follows time. Renumber by
    updated_at, so "a week ago" is a week of every kind of record."""
    tables = [model.__tablename__ for model in SYNCED_MODELS.values()]
    everything = " UNION ALL ".join(f"SELECT id, updated_at FROM {table}" for table in tables)
    for table in tables:
        db.session.execute(sa.text(f"DROP INDEX IF EXISTS ix_{table}_county_seq"))
    db.session.execute(sa.text(f"CREATE TABLE bench_order AS SELECT id, ROW_NUMBER() OVER "
                               f"(ORDER BY updated_at, id) AS seq FROM ({everything}) AS rows"))
    db.session.execute(sa.text("CREATE UNIQUE INDEX ix_bench_order ON bench_order (id)"))
    for table in tables:
        db.session.execute(sa.text(f"UPDATE {table} SET seq = (SELECT seq FROM bench_order "
                                   f"WHERE bench_order.id = {table}.id)"))
    db.session.execute(sa.text("DROP TABLE bench_order"))
    db.session.commit()


def positions() -> dict[str, int]:
    top = db.session.scalar(sa.select(SyncCounter.value))
    return {"from the start": 0, "from mid-year": top // 2, "from a week ago": top - top // 52}


def one_page(actor, cursor) -> tuple[float, int]:
    started = time.perf_counter()
    page = pull(SqlStore(), actor, cursor, PAGE)
    elapsed = (time.perf_counter() - started) * 1000
    db.session.rollback()
    return elapsed, len(page["changes"])


def journal_plan(actor, cursor) -> list[str]:
    """The plan of the journals' query exactly as the store sends it (caught on its way to the database):
    the lines that say how it reads the table and sorts, and on PostgreSQL the time the database took."""
    caught = []

    def catch(_conn, _cursor, statement, parameters, _context, _many):
        if "FROM journals" in statement and "seq >" in statement:
            caught.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", catch)
    try:
        one_page(actor, cursor)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", catch)
    statement, parameters = caught[0]
    postgres = db.engine.dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) " if postgres else "EXPLAIN QUERY PLAN "
    # A fresh text each time: the driver's cache of prepared statements would explain an earlier variant's plan.
    fresh = f" /* {uuid.uuid4()} */"
    rows = db.session.connection().exec_driver_sql(prefix + statement + fresh, parameters).all()
    db.session.rollback()
    lines = [row[0] if postgres else row[-1] for row in rows]
    wanted = ("journals", "Sort Method", "Execution Time", "TEMP B-TREE")
    return [line.strip() for line in lines if any(word in line for word in wanted) and "Buffers" not in line]


def run(name: str, url: str, args) -> None:
    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        upgrade()
    started = time.perf_counter()
    build_county(app, args.scale)
    with app.app_context():
        add_user("admin", "admin", "C", PASSWORD)
        db.session.commit()
        number_in_time_order()
        actors = {label: scope.actor(db.session.scalar(sa.select(User).where(User.username == username)))
                  for label, username in SCOPES.items()}
        print(f"{name}: {sum(int(c * args.scale) for c in COUNTS.values()):,} records in one county "
              f"(built in {time.perf_counter() - started:.0f} s); one page of {PAGE} changes, "
              f"median of {args.repeat} pulls, ms")
        for variant, keep in VARIANTS.items():
            set_indexes(keep)
            print(f"  indexes: {variant}")
            for label, actor in actors.items():
                cells = []
                for where, cursor in positions().items():
                    one_page(actor, cursor)  # warm
                    samples = [one_page(actor, cursor) for _ in range(args.repeat)]
                    cells.append(f"{where} {statistics.median(s for s, _ in samples):7.1f} ({samples[0][1]:3})")
                print(f"    {label:<24} " + "   ".join(cells))
                if args.explain:
                    for where, cursor in positions().items():
                        print(f"      plan, {where}:")
                        for line in journal_plan(actor, cursor):
                            print(f"        {line}")
        set_indexes(VARIANTS["both"])
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    each_database(args.database, "pull", lambda label, url: run(label, url, args))

if __name__ == "__main__":
    main()
