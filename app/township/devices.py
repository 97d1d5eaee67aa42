"""The devices page: every phone, API client and browser login in the township, as view objects."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from .. import credentials, device_names, scope
from ..names import person
from ..extensions import db
from ..models import Device, User, utcnow

ENDED_SHOWN_FOR = dt.timedelta(days=30)  # ended logins stay listed a month, so a revocation can be checked


@dataclass(frozen=True)
class DeviceView:
    id: str
    user: str
    village: str
    name: str
    kind: str            # phone (a bearer token: phones, API clients) | web (a browser login)
    state: str           # live | revoked | logged_out | expired | inactive
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    last_sync_at: dt.datetime | None
    ended_at: dt.datetime | None

    @property
    def live(self) -> bool:
        return self.state == "live"

    @property
    def kind_text(self) -> str:
        return _("Phone or app") if self.kind == "phone" else _("Browser login")

    @property
    def state_text(self) -> str:
        return {"live": _("Active"), "revoked": _("Revoked"), "logged_out": _("Logged out"),
                "expired": _("Expired (unused)"), "inactive": _("Account disabled")}[self.state]


def view(device: Device, now: dt.datetime) -> DeviceView:
    return DeviceView(id=device.id, user=person(device.user.username), village=device.user.unit.name,
                      name=device_names.friendly(device.name),
                      kind="phone" if device.token_hash else "web", state=credentials.state(device, now),
                      created_at=device.created_at, last_used_at=device.last_used_at,
                      last_sync_at=device.last_sync_at, ended_at=device.revoked_at)


def listed(user: User) -> list[DeviceView]:
    """Devices of the users in the user's subtree, live ones first, then by person and newest first."""
    now = utcnow()
    query = (select(Device).join(User, User.id == Device.user_id)
             .where(User.unit_id.in_(scope.unit_ids_under(user.unit)),
                    or_(Device.revoked_at.is_(None), Device.revoked_at > now - ENDED_SHOWN_FOR))
             .options(selectinload(Device.user).selectinload(User.unit))
             .order_by(User.username, Device.created_at.desc()))
    views = [view(device, now) for device in db.session.scalars(query)]
    return sorted(views, key=lambda v: not v.live)  # stable: keeps the person and date order inside each group
