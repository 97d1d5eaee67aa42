"""Fixtures: an app on a fresh database per test (SQLite, or PostgreSQL where asked)."""
from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app
from app.cli import add_unit, add_user
from app.extensions import db

PASSWORD = "correct-horse-1"


def postgres_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("TEST_DATABASE_URL must name the PostgreSQL server in CI")
        pytest.skip("TEST_DATABASE_URL is not set")
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


@pytest.fixture
def postgres_schema_url():
    """A throwaway schema on the test PostgreSQL server, dropped afterwards."""
    base = postgres_url()
    schema = "t_" + uuid.uuid4().hex[:12]
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


@pytest.fixture
def database_url(tmp_path):
    return f"sqlite:///{tmp_path / 'test.sqlite'}"


def make_app(database_url, **extra):
    return create_app({"TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": database_url,
                       "WTF_CSRF_ENABLED": False,
                       # Tests create many users; a cheap hash keeps them fast (production uses scrypt).
                       "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", **extra})


@pytest.fixture
def app(database_url):
    app = make_app(database_url)
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


WORLD_UNITS = [
    ("C", "县", "county", None),
    ("T1", "一镇", "township", "C"), ("T2", "二镇", "township", "C"),
    ("V11", "一村", "village", "T1"), ("V12", "二村", "village", "T1"), ("V21", "三村", "village", "T2"),
]
WORLD_USERS = [
    ("sec1", "secretary", "V11"), ("cadre1", "cadre", "V11"), ("sec12", "secretary", "V12"),
    ("sec2", "secretary", "V21"), ("staff1", "township_staff", "T1"), ("approver1", "township_approver", "T1"),
    ("staff2", "township_staff", "T2"), ("admin", "admin", "C"),
]


@pytest.fixture
def world(app):
    """Two townships with villages and a user of each role; returns the unit ids by code."""
    with app.app_context():
        units = {code: add_unit(code, name, level, parent).id for code, name, level, parent in WORLD_UNITS}
        for username, role, unit in WORLD_USERS:
            add_user(username, role, unit, PASSWORD)
        db.session.commit()
    return units
