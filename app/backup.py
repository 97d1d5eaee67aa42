"""Backups of the live database, taken while the server goes on writing.

SQLite: the online backup API copies the file inside one read transaction, so the copy is the database as it
stood at one moment, and in WAL mode writers never wait for it. PostgreSQL: pg_dump in its custom format (one
snapshot too; restore with pg_restore, see docs/deployment.md). Either way the file appears under its name only
once it is complete, readable by its owner alone: it holds residents' names and phone numbers.

Photos: when they are files (the default storage, instance ATTACHMENT_DIR), the folder is copied after the
database into `attachments/` beside the backup, the same way (each file under a `.partial` name until complete,
owner-only). Photo files never change once complete, so that one folder serves every dated backup: each run
adds the new photos and refreshes the uploads in progress (`partial/`), and keeps the photos of older backups.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

KINDS = {"sqlite": ("SQLite database", "sqlite"), "postgresql": ("PostgreSQL dump (pg_dump custom format)", "dump")}


class BackupError(Exception):
    pass


@dataclass(frozen=True)
class PhotoCopy:
    folder: Path
    copied: int      # files copied this time
    kept: int        # files that were there already, unchanged


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int
    kind: str
    photos: PhotoCopy | None = None   # None: the photos are not files on this server (or there are none yet)


APP_PHOTOS = object()  # back_up's default: the running app's photo folder, when it keeps photos as files
PHOTO_FOLDER = "attachments"


def back_up(engine: sa.Engine, path: Path, overwrite: bool = False, photos=APP_PHOTOS) -> Backup:
    """Write a backup of the engine's database to `path`, or to a dated file in it when it is a folder; then
    copy the photo folder (`photos`: a folder, None for none) into `attachments/` beside it."""
    dialect = engine.dialect.name
    if dialect not in KINDS:
        raise BackupError(f"Backups work on SQLite and PostgreSQL, not {dialect}.")
    kind, suffix = KINDS[dialect]
    destination = destination_of(Path(path), suffix, overwrite)
    partial = destination.with_name(destination.name + ".partial")
    try:
        private_file(partial)
        if dialect == "sqlite":
            copy_sqlite(engine.url.database, partial)
        else:
            dump_postgres(engine, partial)
        partial.replace(destination)
    finally:
        partial.unlink(missing_ok=True)
    source = app_photo_folder() if photos is APP_PHOTOS else photos
    copied = copy_photos(Path(source), destination.parent / PHOTO_FOLDER) if source else None
    return Backup(destination, destination.stat().st_size, kind, copied)


def app_photo_folder() -> Path | None:
    """The app's photo folder when its photos are files there (not an object store), else None."""
    from flask import has_app_context

    if not has_app_context():
        return None
    from .attachments.storage import FileStorage, storage

    store = storage()
    return store.root if isinstance(store, FileStorage) and store.root.is_dir() else None


def copy_photos(source: Path, target: Path) -> PhotoCopy:
    """Bring `target` up to date with the photo folder `source`: complete photos are added (never removed:
    older backups need them), the uploads in progress under `partial/` mirrored as they stand now."""
    target.mkdir(mode=0o700, exist_ok=True)
    copied = kept = 0
    for path in sorted(source.rglob("*")):
        if not path.is_file() or path.name.endswith((".tmp", ".partial")):
            continue
        copy = target / path.relative_to(source)
        if same_file(path, copy):
            kept += 1
            continue
        copy.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        private_copy(path, copy)
        copied += 1
    in_progress = source / "partial"
    for stale in (target / "partial").glob("*"):
        if stale.is_file() and not (in_progress / stale.name).exists():  # completed (or dropped) since
            stale.unlink()
    return PhotoCopy(target, copied, kept)


def same_file(path: Path, copy: Path) -> bool:
    try:
        mine, theirs = path.stat(), copy.stat()
    except FileNotFoundError:
        return False
    return mine.st_size == theirs.st_size and mine.st_mtime_ns == theirs.st_mtime_ns


def private_copy(path: Path, copy: Path) -> None:
    """`path` copied to `copy` (its time kept, for the next run to compare), whole before it has its name."""
    partial = copy.with_name(copy.name + ".partial")
    try:
        private_file(partial)
        shutil.copyfile(path, partial)
        shutil.copystat(path, partial)
        os.chmod(partial, 0o600)
        partial.replace(copy)
    finally:
        partial.unlink(missing_ok=True)


def destination_of(path: Path, suffix: str, overwrite: bool) -> Path:
    if path.is_dir():
        path = path / f"zhucun-{dt.datetime.now():%Y%m%d-%H%M%S}.{suffix}"
    if not path.parent.is_dir():
        raise BackupError(f"The folder {path.parent} does not exist.")
    if path.exists() and not overwrite:
        raise BackupError(f"{path} exists already; give another name, or --overwrite to replace it.")
    return path


def private_file(path: Path) -> None:
    """An empty file only its owner may read, for the backup to be written into."""
    path.unlink(missing_ok=True)  # left behind by a backup that was killed
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def copy_sqlite(database: str | None, partial: Path) -> None:
    if not database or database == ":memory:":
        raise BackupError("This SQLite database lives in memory; there is no file to back up.")
    source = sqlite3.connect(database, timeout=30)
    target = sqlite3.connect(partial)
    try:
        # All pages in one step (pages=-1): a step-by-step copy starts over whenever the server writes, and
        # might never finish on a busy one.
        source.backup(target, pages=-1)
        # One self-contained file, whatever mode the live database runs in (the app turns WAL on again).
        target.execute("PRAGMA journal_mode=DELETE")
        check = target.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        target.close()
        source.close()
    if check != "ok":
        raise BackupError(f"The copy failed SQLite's check: {check}")


def dump_postgres(engine: sa.Engine, partial: Path) -> None:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError("pg_dump is not installed: install PostgreSQL's client tools (Debian: apt-get install "
                          "postgresql-client), of the server's major version or newer.")
    with engine.connect() as connection:
        schema = connection.scalar(sa.text("SELECT current_schema()"))
    # A deployment that keeps its tables in a schema of a shared database (search_path) gets that schema only.
    only_schema = [f'--schema="{schema}"'] if schema != "public" else []
    # Rows being written never hold it up; a table locked outright (a migration running) fails it after a
    # while rather than leaving a nightly backup hanging.
    command = [pg_dump, "--format=custom", "--no-password", "--lock-wait-timeout=5min", f"--file={partial}",
               *only_schema, f"--dbname={libpq_url(engine.url)}"]
    password = {"PGPASSWORD": engine.url.password} if engine.url.password else {}
    result = subprocess.run(command, env=os.environ | password, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")


def libpq_url(url: sa.URL) -> str:
    """The URL as libpq reads it: no SQLAlchemy driver, and no password (it goes in PGPASSWORD, not in `ps`)."""
    return sa.URL.create("postgresql", username=url.username, host=url.host, port=url.port, database=url.database,
                         query=url.query).render_as_string(hide_password=False)


def size_text(size: int) -> str:
    for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= factor:
            return f"{size / factor:.1f} {unit} ({size:,} bytes)"
    return f"{size:,} bytes"
