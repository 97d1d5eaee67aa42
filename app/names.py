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


def _county_prefix() -> str | None:
    user = current_user if has_request_context() else None
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return "/" + user.unit.path.strip("/").split("/")[0] + "/"


def _names() -> dict[str, str]:
    names = per_request.cache("display_names")
    if not names:
        query = select(User.username, User.display_name).where(User.display_name.is_not(None))
        prefix = _county_prefix()
        if prefix:
            query = query.join(Unit, Unit.id == User.unit_id).where(Unit.path.startswith(prefix))
        names.update(db.session.execute(query).all())
        names.setdefault("", "")  # read: a county where nobody has a name is not read again
    return names


def person(username: str | None) -> str:
    """The name a page shows for `username` ('' for nobody)."""
    if not username:
        return ""
    return _names().get(username, username) if has_request_context() else username


def init_app(app) -> None:
    app.add_template_filter(person, "person")
