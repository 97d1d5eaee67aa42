"""A county at scale — 20 townships of 15 villages, a year of records — and the township pages' latency.

Usage: python bench/county.py [--database sqlite|postgresql|both] [--requests 40] [--scale 1.0]
PostgreSQL uses TEST_DATABASE_URL (a throwaway schema, dropped afterwards).
"""
from __future__ import annotations

import datetime as dt
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from bench.databases import county_bench_args, each_database  # noqa: E402
from app import create_app  # noqa: E402
from app.cli import add_unit, add_user  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Journal, Problem, Request, SyncCounter, Task, Unit, WorkItem, utcnow  # noqa: E402

TOWNSHIPS, VILLAGES = 20, 15
COUNTS = {"journal": 110_000, "problem": 30_000, "task": 20_000, "request": 10_000}
PASSWORD = "bench-password"
TEXT = "今天走访了村东组的农户，了解春耕备肥情况，水渠有一段渗漏，已记入问题清单。"


def build_county(app, scale: float) -> None:
    rng = random.Random(7)
    with app.app_context():
        county = add_unit("C", "示范县", "county", None)
        # The county's work-item list: the township's tasks name an item of it and passed the gate.
        db.session.add(WorkItem(county_id=county.id, code="SX-042", name="办理老年优待证",
                                basis="《老年人权益保障法》第五十七条", department="县民政局", effort_hours=3.0))
        villages = []
        for t in range(TOWNSHIPS):
            add_unit(f"T{t:02d}", f"第{t}镇", "township", "C")
            for v in range(VILLAGES):
                villages.append(add_unit(f"T{t:02d}V{v:02d}", f"第{t}镇{v}村", "village", f"T{t:02d}"))
        add_user("staff", "township_staff", "T00", PASSWORD)
        secretaries = {v.id: add_user(f"s{v.code}", "secretary", v.code, PASSWORD).id for v in villages}
        db.session.commit()
        now, seq = utcnow(), 0
        village_ids, county_id = [v.id for v in villages], county.id

        def common(unit_id, days_ago):
            nonlocal seq
            seq += 1
            at = now - dt.timedelta(days=days_ago, minutes=rng.randrange(1440))
            return {"id": str(uuid.uuid4()), "unit_id": unit_id, "created_by": secretaries[unit_id],
                    "updated_by": secretaries[unit_id], "created_at": at, "updated_at": at, "version": 1,
                    "field_versions": {}, "deleted": False, "county_id": county_id, "seq": seq, "conflicts": []}

        def rows(kind, make):
            for start in range(0, int(COUNTS[kind] * scale), 5000):
                batch = []
                for _ in range(min(5000, int(COUNTS[kind] * scale) - start)):
                    unit_id, days_ago = rng.choice(village_ids), rng.randrange(365)
                    batch.append(common(unit_id, days_ago) | make(days_ago))
                yield batch

        today = now.date()
        makers = {
            Journal: ("journal", lambda d: {"date": today - dt.timedelta(days=d), "text": TEXT, "visits": 3}),
            Problem: ("problem", lambda d: {"title": "水渠渗漏", "category": "基础设施", "urgent": rng.random() < .1,
                                            "status": rng.choice(["open", "in_progress", "resolved", "verified"])}),
            Task: ("task", lambda d: {"title": "办理老年优待证", "status": rng.choice(["received", "done"]),
                                      "origin": "township", "due": today - dt.timedelta(days=d - 7),
                                      "item_code": "SX-042", "item_name": "办理老年优待证",
                                      "item_basis": "《老年人权益保障法》第五十七条", "support_department": "县民政局",
                                      "gate": "approved", "sent_on": today - dt.timedelta(days=d)}),
            Request: ("request", lambda d: {"content": "垃圾池满溢", "status": rng.choice(["recorded", "answered"]),
                                            "livelihood_project": False}),
        }
        for model, (kind, make) in makers.items():
            for batch in rows(kind, make):
                db.session.execute(sa.insert(model), batch)
        db.session.add(SyncCounter(county_id=county_id, value=seq))
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()


def measure(app, requests: int) -> dict[str, list[float]]:
    client = app.test_client()
    client.post("/login", data={"username": "staff", "password": PASSWORD})
    pages = {
        "overview (/township/villages)": "/township/villages",
        "review queue (/township/review)": "/township/review",
        "journals, filtered by village": "/township/journals?village=T00V03",
        "journals, page 5": "/township/journals?page=5",
        "problems, open, text search": "/township/problems?status=open&q=水渠",
        "weekly report, township": "/township/reports/weekly",
    }
    timings = {}
    for name, url in pages.items():
        assert client.get(url).status_code == 200, url
        samples = []
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        timings[name] = samples
    return timings


def p95(samples):
    return statistics.quantiles(samples, n=20)[-1]


def run(name: str, url: str, args) -> None:
    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        upgrade()
    started = time.perf_counter()
    build_county(app, args.scale)
    print(f"{name}: generated {sum(int(c * args.scale) for c in COUNTS.values()):,} records "
          f"in {time.perf_counter() - started:.0f} s")
    for page, samples in measure(app, args.requests).items():
        print(f"  {page:<34} median {statistics.median(samples):6.1f} ms   p95 {p95(samples):6.1f} ms")
    with app.app_context():
        db.engine.dispose()


def main() -> None:
    args = county_bench_args(requests=40)
    each_database(args.database, "county", lambda label, url: run(label, url, args))

if __name__ == "__main__":
    main()
