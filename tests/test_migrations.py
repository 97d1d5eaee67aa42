"""Migrations: one head, and upgrading an empty database gives exactly the models' schema."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade

from app.extensions import db

from .conftest import make_app


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite'}"
    return request.getfixturevalue("postgres_schema_url")


def test_there_is_one_head(app):
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_upgrade_of_an_empty_database_matches_the_models(empty_database_url):
    app = make_app(empty_database_url)
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
        db.engine.dispose()
    assert diff == []


def test_the_removed_photos_migration_goes_down_and_up_again(empty_database_url):
    from flask_migrate import downgrade
    import sqlalchemy as sa
    app = make_app(empty_database_url)
    with app.app_context():
        upgrade()
        downgrade(revision="0011_attachments")
        with db.engine.connect() as connection:
            assert "removed" not in {c["name"] for c in sa.inspect(connection).get_columns("attachments")}
        upgrade()
        with db.engine.connect() as connection:
            assert "removed" in {c["name"] for c in sa.inspect(connection).get_columns("attachments")}
        db.engine.dispose()
