"""How pages name people: the display name (张伟) where one was given, else the username.

The wire and the exports keep usernames (they are identifiers); only what a person reads is named. Names are
read once per request, for the people of the viewer's county (everyone whose name can appear on its records).
"""
from __future__ import annotations

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import select

from . import per_request
from .extensions import db
from .models import Unit, User
from .sync_store import county_of


def _names() -> dict[str, str]:
    held = per_request.cache("display_names")
    if "names" not in held:
        query = select(User.username, User.display_name).where(User.display_name.is_not(None))
        if current_user and current_user.is_authenticated:
            county = f"/{county_of(current_user.unit.path)}/"
            query = query.join(Unit, Unit.id == User.unit_id).where(Unit.path.startswith(county))
        held["names"] = dict(db.session.execute(query).all())
    return held["names"]


def person(username: str | None) -> str:
    """The name a page shows for `username` ('' for nobody)."""
    if not username:
        return ""
    return _names().get(username, username) if has_request_context() else username


def init_app(app) -> None:
    app.add_template_filter(person, "person")
