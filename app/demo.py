"""The demo: a small county whose pages are worth looking at. Seeding twice changes nothing."""
from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select

from sync.types import shanghai_today

from . import sync_service
from .extensions import db
from .models import Unit, User

PASSWORD = "zhucun-demo"
UNITS = [
    ("DEMO", "示范县", "county", None),
    ("T01", "青山镇", "township", "DEMO"),
    ("T02", "绿水乡", "township", "DEMO"),
    ("T01V01", "东坡村", "village", "T01"),
    ("T01V02", "柳树湾村", "village", "T01"),
    ("T01V03", "石门村", "village", "T01"),
    ("T02V01", "梨花村", "village", "T02"),
    ("T02V02", "上河村", "village", "T02"),
    ("T02V03", "桃源村", "village", "T02"),
]
USERS = [
    ("shuji", "secretary", "T01V01"),
    ("cunwei", "cadre", "T01V01"),
    ("lihua", "secretary", "T01V02"),
    ("zhenyuan", "township_staff", "T01"),
    ("fushuji", "township_approver", "T01"),
    ("admin", "admin", "DEMO"),
]
JOURNALS = [
    ("shuji", 0, "走访了5户脱贫户，了解春耕备肥情况；村东头水渠有一段渗漏，记入问题清单。", 5, "村东组、水渠", ""),
    ("shuji", 1, "党群议事亭茶话会：群众反映垃圾池满溢，商定由志愿者轮流清理。", 0, "议事亭", "大事共商，小事互助。"),
    ("shuji", 3, "陪同镇农技站查看大棚蔬菜病虫害，联系县农业局专家下周来村指导。", 2, "大棚基地", ""),
    ("cunwei", 2, "整理老年优待证办理名单，共12人，明天统一送镇便民中心。", 0, "村委会", ""),
    ("lihua", 1, "召开村两委会议，部署秋季防火巡查，排出网格员值班表。", 0, "村委会", "哪些群众的急难愁盼真正解决了？"),
    ("lihua", 6, "走访留守老人8户，两户需要修缮屋顶，联系镇民政办。", 8, "柳树湾一组、二组", ""),
]
NAMESPACE = uuid.UUID("6f1d3c1e-2d7c-4a0e-9a55-0c9b8f6f7d10")


def seed(add_unit, add_user) -> bool:
    created = False
    for code, name, level, parent in UNITS:
        if db.session.scalar(select(Unit).where(Unit.code == code)) is None:
            add_unit(code, name, level, parent)
            created = True
    for username, role, unit in USERS:
        if db.session.scalar(select(User).where(User.username == username)) is None:
            add_user(username, role, unit, PASSWORD)
            created = True
    db.session.commit()
    today = dt.date.fromisoformat(shanghai_today())
    for index, (username, days_ago, text, visits, places, reflection) in enumerate(JOURNALS):
        user = db.session.scalar(select(User).where(User.username == username))
        op = {"op": str(uuid.uuid5(NAMESPACE, f"op-{index}")), "type": "journal",
              "id": str(uuid.uuid5(NAMESPACE, f"journal-{index}")), "base": None,
              "set": {"date": (today - dt.timedelta(days=days_ago)).isoformat(), "text": text,
                      "visits": visits, "places": places, "reflection": reflection}}
        result = sync_service.submit(user, [op])[0]
        created = created or result["status"] != "duplicate"
    return created
