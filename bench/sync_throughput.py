"""Sync throughput: ops per second through POST /api/sync, in batches of 200 journal ops.

Usage: python bench/sync_throughput.py [--batches 20] [--database sqlite|postgresql|both]
PostgreSQL uses TEST_DATABASE_URL (a throwaway schema, dropped afterwards).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from app import create_app  # noqa: E402
from app.cli import add_unit, add_user  # noqa: E402
from app.extensions import db  # noqa: E402

BATCH = 200


def make_app(url: str):
    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        upgrade()
        add_unit("C", "县", "county", None)
        add_unit("T", "镇", "township", "C")
        add_unit("V", "村", "village", "T")
        add_user("bench", "secretary", "V", "bench-password")
        db.session.commit()
    return app


def run(app, batches: int) -> list[float]:
    client = app.test_client()
    token = client.post("/api/auth/token", json={"username": "bench", "password": "bench-password"}).get_json()
    headers = {"Authorization": f"Bearer {token['token']}"}
    rates, cursor = [], None
    for _ in range(batches):
        ops = [{"op": str(uuid.uuid4()), "type": "journal", "id": str(uuid.uuid4()), "base": None,
                "set": {"date": "2026-11-20", "text": "走访农户，了解春耕备肥情况。" * 8, "visits": 3}}
               for _ in range(BATCH)]
        started = time.perf_counter()
        response = client.post("/api/sync", json={"cursor": cursor, "limit": BATCH, "ops": ops}, headers=headers)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert all(r["status"] == "applied" for r in body["results"])
        cursor = body["cursor"]
        rates.append(BATCH / elapsed)
    return rates


def report(name: str, rates: list[float]) -> None:
    print(f"{name:<11} batches={len(rates):<3} ops/s median={statistics.median(rates):7.0f} "
          f"min={min(rates):7.0f} max={max(rates):7.0f}")


def postgres_schema():
    url = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    schema = "bench_" + uuid.uuid4().hex[:8]
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    return engine, schema, f"{url}?options=-csearch_path%3D{schema}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    results = {}
    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            app = make_app(f"sqlite:///{tmp}/bench.sqlite")
            results["SQLite"] = run(app, args.batches)
            with app.app_context():
                db.engine.dispose()
    if args.database in ("postgresql", "both"):
        engine, schema, url = postgres_schema()
        try:
            app = make_app(url)
            results["PostgreSQL"] = run(app, args.batches)
            with app.app_context():
                db.engine.dispose()
        finally:
            with engine.begin() as conn:
                conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    print(f"sync throughput, batches of {BATCH} new journal ops per request (test client, in process)")
    for name, rates in results.items():
        report(name, rates)


if __name__ == "__main__":
    main()
