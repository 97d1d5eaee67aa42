"""The databases a bench runs on: SQLite in a temporary folder, PostgreSQL in a throwaway schema of
TEST_DATABASE_URL (dropped afterwards)."""
from __future__ import annotations

import argparse
import os
import tempfile
import uuid

import sqlalchemy as sa


def each_database(choice: str, prefix: str, run) -> None:
    """Call run(label, url) on SQLite and/or PostgreSQL, as `--database sqlite|postgresql|both` chose."""
    if choice in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            run("SQLite", f"sqlite:///{tmp}/{prefix}.sqlite")
    if choice in ("postgresql", "both"):
        base = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
        base = base.replace("postgresql://", "postgresql+psycopg://", 1)
        schema = f"{prefix}_" + uuid.uuid4().hex[:8]
        engine = sa.create_engine(base)
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        try:
            run("PostgreSQL", f"{base}?options=-csearch_path%3D{schema}")
        finally:
            with engine.begin() as conn:
                conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))


def county_bench_args(requests: int) -> argparse.Namespace:
    """The options of the benches that build bench/county.py's county: which databases, how many timed
    requests, and the county's scale."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--requests", type=int, default=requests)
    parser.add_argument("--scale", type=float, default=1.0)
    return parser.parse_args()
