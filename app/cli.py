"""Command-line administration: units, users, the demo, the work-item list and backups."""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext
from flask_babel import force_locale
from sqlalchemy import select

from . import backup as backups
from . import demo
from .worklist import parse as worklist_parse
from .worklist import service as worklist
from .extensions import db
from .models import LEVELS, ROLE_LEVEL, ROLES, Unit, User

PARENT_LEVEL = {"county": None, "township": "county", "village": "township"}


def add_unit(code: str, name: str, level: str, parent_code: str | None) -> Unit:
    """Create a unit under its parent, checking the county → township → village tree."""
    if db.session.scalar(select(Unit).where(Unit.code == code)):
        raise click.ClickException(f"A unit with code {code} already exists.")
    parent = None
    if PARENT_LEVEL[level] is not None:
        if not parent_code:
            raise click.ClickException(f"A {level} needs --parent, the code of its {PARENT_LEVEL[level]}.")
        parent = db.session.scalar(select(Unit).where(Unit.code == parent_code))
        if parent is None:
            raise click.ClickException(f"No unit has the code {parent_code}.")
        if parent.level != PARENT_LEVEL[level]:
            raise click.ClickException(f"The parent of a {level} must be a {PARENT_LEVEL[level]}, not a {parent.level}.")
    elif parent_code:
        raise click.ClickException("A county has no parent.")
    unit = Unit(code=code, name=name, level=level, parent_id=parent.id if parent else None, path="")
    db.session.add(unit)
    db.session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    return unit


def add_user(username: str, role: str, unit_code: str, password: str, name: str | None = None) -> User:
    if db.session.scalar(select(User).where(User.username == username)):
        raise click.ClickException(f"A user named {username} already exists.")
    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
    if unit is None:
        raise click.ClickException(f"No unit has the code {unit_code}.")
    if unit.level != ROLE_LEVEL[role]:
        raise click.ClickException(f"A {role} belongs to a {ROLE_LEVEL[role]}; {unit_code} is a {unit.level}.")
    if len(password) < 8:
        raise click.ClickException("The password must have at least 8 characters.")
    name = (name or "").strip() or None
    if name and len(name) > 64:
        raise click.ClickException("The name must have at most 64 characters.")
    user = User(username=username, role=role, unit_id=unit.id, display_name=name)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


@click.command("create-unit")
@with_appcontext
@click.argument("code")
@click.argument("name")
@click.option("--level", type=click.Choice(LEVELS), required=True)
@click.option("--parent", "parent_code", default=None, help="Code of the parent unit.")
def create_unit(code, name, level, parent_code):
    """Create a county, township or village."""
    unit = add_unit(code, name, level, parent_code)
    db.session.commit()
    click.echo(f"Created {unit.level} {unit.code} {unit.name}.")


@click.command("create-user")
@with_appcontext
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--unit", "unit_code", required=True, help="Code of the user's unit.")
@click.option("--password", required=True)
@click.option("--name", default=None, help="The person's name as pages show it (张伟); the username logs in.")
def create_user(username, role, unit_code, password, name):
    """Create a user with a role scoped to a unit."""
    user = add_user(username, role, unit_code, password, name)
    db.session.commit()
    named = f" ({user.display_name})" if user.display_name else ""
    click.echo(f"Created {user.role} {user.username}{named} in {unit_code}.")


@click.command("seed-demo")
@with_appcontext
def seed_demo():
    """A county, 2 townships, 6 villages, a user of each role and some journals (idempotent)."""
    created = demo.seed(add_unit, add_user)
    click.echo("Demo data ready." if created else "Demo data already present; nothing changed.")
    click.echo(f"Demo logins (password {demo.PASSWORD}):")
    for username, role, unit, name in demo.USERS:
        click.echo(f"  {username:<10} {name:<4} {role:<18} {unit}")


@click.command("import-work-items")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--county", "county_code", required=True, help="Code of the county whose list this is.")
@click.option("--dry-run", is_flag=True, help="Show what would change and change nothing.")
def import_work_items(file, county_code, dry_run):
    """Import the county's work-item list (涉村工作事项清单) from CSV or XLSX: update by code, retire the rest."""
    county = db.session.scalar(select(Unit).where(Unit.code == county_code))
    if county is None or county.level != "county":
        raise click.ClickException(f"No county has the code {county_code}.")
    with open(file, "rb") as handle, force_locale("en"):  # an admin's terminal: the messages in English
        try:
            parsed = worklist_parse.read(file, handle.read())
        except worklist_parse.UnreadableFile as error:
            raise click.ClickException(f"{file}: {error}") from None
        lines = [f"row {e.row}, column {e.column}: {e.message}" for e in parsed.errors[:50]]
    if parsed.errors:
        more = len(parsed.errors) - len(lines)
        raise click.ClickException(f"{file} has {len(parsed.errors)} bad cells; nothing was imported.\n"
                                   + "\n".join(lines) + (f"\n… and {more} more." if more > 0 else ""))
    plan = worklist.plan(county, parsed.items)
    summary = (f"{len(plan.added)} added, {len(plan.updated)} updated, {len(plan.retired)} retired, "
               f"{plan.unchanged} unchanged")
    if dry_run:
        db.session.rollback()
        click.echo(f"Dry run for {county.code}: {summary}. Nothing was changed.")
        return
    worklist.apply(county, plan, None, f"cli:{file}")
    db.session.commit()
    click.echo(f"Imported the work-item list of {county.code}: {summary}.")


@click.command("backup")
@with_appcontext
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace PATH if it exists.")
def backup(path, overwrite):
    """Back up the database to PATH (a file, or a folder for a dated name); safe while the server runs."""
    try:
        made = backups.back_up(db.engine, path, overwrite)
    except backups.BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Wrote {made.path}: {made.kind}, {backups.size_text(made.size)}.")
    if made.photos is not None:
        click.echo(f"Photos in {made.photos.folder}: {made.photos.copied} copied, {made.photos.kept} there already.")


def init_app(app: Flask) -> None:
    for command in (create_unit, create_user, seed_demo, import_work_items, backup):
        app.cli.add_command(command)


def main():
    from . import create_app
    FlaskGroup(create_app=create_app)()
