"""Fixtures: an app on a fresh database per test (SQLite, or PostgreSQL where asked)."""
from __future__ import annotations

import datetime as dt
import os
import tempfile
import uuid
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app
from app.cli import add_unit, add_user
from app.extensions import db

# A year whose February and March are behind us and within the last 366 days (the window of a journal's
# date), so tests may use fixed spring dates whenever they run.
_TODAY = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
PAST_YEAR = _TODAY.year if _TODAY >= dt.date(_TODAY.year, 4, 1) else _TODAY.year - 1
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


BOTH_DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def sqlite_or_postgres(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite'}"
    return request.getfixturevalue("postgres_schema_url")


def on_both_databases():
    """A module's `database_url = on_both_databases()`: its every test runs on SQLite and on PostgreSQL."""
    return pytest.fixture(params=BOTH_DATABASES, name="database_url")(sqlite_or_postgres)


@pytest.fixture
def database_url(tmp_path):
    return f"sqlite:///{tmp_path / 'test.sqlite'}"


# Photos of tests that do not look at them go here, never into the checkout's instance folder.
PHOTO_DIR = tempfile.mkdtemp(prefix="zhucun-test-photos-")


def make_app(database_url, **extra):
    return create_app({"TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": database_url,
                       "WTF_CSRF_ENABLED": False,
                       "ATTACHMENT_DIR": PHOTO_DIR,
                       # Tests create many users; a cheap hash keeps them fast (production uses scrypt).
                       "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", **extra})


@pytest.fixture
def photo_dir(app, tmp_path):
    """The app's photos in a folder of the test's own (none there unless the test puts some)."""
    app.config["ATTACHMENT_DIR"] = str(tmp_path / "photos")
    return tmp_path / "photos"


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


# The county's work-item list: three active items, one cancelled (取消清单), one retired.
WORLD_ITEMS = [
    {"code": "SX-042", "name": "办理老年优待证", "basis": "《老年人权益保障法》第五十七条", "department": "县民政局",
     "effort_hours": 3.0, "status": "active"},
    {"code": "SX-101", "name": "农村人居环境整治", "basis": "《农村人居环境整治提升五年行动方案》",
     "department": "县农业农村局", "effort_hours": 8.0, "status": "active"},
    {"code": "SX-108", "name": "森林防火巡查", "basis": "《森林防火条例》第二十条", "department": "县林业局",
     "effort_hours": 6.0, "status": "active"},
    {"code": "SX-201", "name": "创建台账材料报送", "basis": "已取消", "department": "", "effort_hours": 8.0,
     "status": "cancelled"},
    {"code": "SX-190", "name": "农村电影放映场次统计", "basis": "依据到期", "department": "县文广旅体局",
     "effort_hours": 1.0, "status": "retired"},
]


@pytest.fixture
def world(app):
    """Two townships with villages, a user of each role and the county's work-item list;
    returns the unit ids by code."""
    from app.models import Unit
    from app.worklist import service as worklist
    with app.app_context():
        units = {code: add_unit(code, name, level, parent).id for code, name, level, parent in WORLD_UNITS}
        for username, role, unit in WORLD_USERS:
            add_user(username, role, unit, PASSWORD)
        county = db.session.get(Unit, units["C"])
        worklist.apply(county, worklist.plan(county, [dict(i) for i in WORLD_ITEMS]), None, "test")
        db.session.commit()
    return units
