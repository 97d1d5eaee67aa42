"""The demo: a small county whose pages are worth looking at. Seeding twice changes nothing."""
from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from sqlalchemy import select

from sync.types import shanghai_today

from . import demo_photos, sync_service
from .extensions import db
from .models import Unit, User
from .worklist import parse, service

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
USERS = [  # username, role, unit, display name
    ("shuji", "secretary", "T01V01", "王建国"),
    ("cunwei", "cadre", "T01V01", "李秀兰"),
    ("lihua", "secretary", "T01V02", "李华"),
    ("zhenyuan", "township_staff", "T01", "陈明"),
    ("fushuji", "township_approver", "T01", "刘志强"),
    ("admin", "admin", "DEMO", "赵敏"),
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
    for username, role, unit, name in USERS:
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            add_user(username, role, unit, PASSWORD, name)
            created = True
        elif user.display_name is None:  # a demo seeded before people had names
            user.display_name = name
            created = True
    db.session.commit()
    created = _seed_work_items() or created
    for username, op in demo_ops(dt.date.fromisoformat(shanghai_today())):
        user = db.session.scalar(select(User).where(User.username == username))
        result = sync_service.submit(user, [op])[0]
        if result["status"] == "rejected":
            raise ValueError(f"demo op {op['type']} {op['id']} rejected: {result['error']}")
        created = created or result["status"] != "duplicate"
    user_of = lambda name: db.session.scalar(select(User).where(User.username == name))  # noqa: E731
    return demo_photos.seed(user_of, _id) or created


WORK_ITEMS = Path(__file__).with_name("demo_work_items.csv")


def _seed_work_items() -> bool:
    """The demo county's work-item list, imported the way an admin imports one."""
    county = db.session.scalar(select(Unit).where(Unit.code == "DEMO"))
    parsed = parse.read(WORK_ITEMS.name, WORK_ITEMS.read_bytes())
    assert not parsed.errors, parsed.errors
    plan = service.plan(county, parsed.items)
    if not plan.changes:
        return False
    service.apply(county, plan, None, "demo")
    db.session.commit()
    return True


def _id(key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, key))


def demo_ops(today: dt.date) -> list[tuple[str, dict]]:
    """The demo's records as ops, keyed so that seeding again only replays duplicates."""
    day = lambda n: (today + dt.timedelta(days=n)).isoformat()  # noqa: E731
    year, week, _ = today.isocalendar()
    this_week = f"{year}-W{week:02d}"
    ops = []
    for index, (username, days_ago, text, visits, places, reflection) in enumerate(JOURNALS):
        ops.append((username, {"op": _id(f"op-{index}"), "type": "journal", "id": _id(f"journal-{index}"),
                               "base": None, "set": {"date": day(-days_ago), "text": text, "visits": visits,
                                                     "places": places, "reflection": reflection}}))
    records = [
        ("shuji", "problem-canal", "problem", None, None, {
            "title": "村东头水渠渗漏", "detail": "约20米渠段渗水，影响下游三组灌溉。", "category": "基础设施",
            "urgent": True, "owner": "cunwei", "due": day(7), "source_type": "journal", "source_id": _id("journal-0")}),
        ("shuji", "meeting-tea", "meeting", None, None, {
            "date": day(-1), "place": "党群议事亭", "topic": "垃圾池满溢怎么办", "attendance": 14,
            "minutes": "群众反映村口垃圾池满溢；商定由党员志愿者轮流清理，大事共商，小事互助。"}),
        ("shuji", "request-rubbish", "request", None, None, {
            "content": "村口垃圾池经常满溢，夏天有异味。", "category": "环境整治", "resident_name": "王秀英",
            "resident_contact": "13812345678", "meeting_id": _id("meeting-tea")}),
        ("shuji", "problem-rubbish", "problem", None, None, {
            "title": "村口垃圾池满溢", "category": "环境整治", "owner": "shuji", "source_type": "request",
            "source_id": _id("request-rubbish")}),
        ("shuji", "request-rubbish", "request", 1, None, {
            "status": "accepted", "problem_id": _id("problem-rubbish"), "livelihood_project": True}),
        ("shuji", "problem-rubbish", "problem", 1, None, {
            "status": "resolved", "resolution": "组织党员志愿者每周二、周五轮流清理。"}),
        ("shuji", "request-rubbish", "request", 2, None, {
            "status": "answered", "reply": "已安排志愿者轮流清理，欢迎大家监督。", "replied_on": day(0)}),
        ("zhenyuan", "task-card", "task", None, "T01V01", {
            "title": "办理老年优待证", "detail": "汇总本村60岁以上老人名单，统一送镇便民中心。", "due": day(5),
            "item_code": "SX-042", "week": this_week, "assignee": "cunwei"}),
        ("fushuji", "task-card", "task", 1, None, {"gate": "approved"}),
        ("shuji", "task-visit", "task", None, None, {"title": "走访五保户，了解冬季取暖", "week": this_week,
                                                     "assignee": "shuji"}),
        ("shuji", "task-visit", "task", 1, None, {"status": "done", "note": "走访4户，均已备好过冬煤。"}),
        ("zhenyuan", "task-fire", "task", None, "T01V02", {
            "title": "秋季防火巡查", "item_code": "SX-108", "due": day(3), "week": this_week, "assignee": "lihua"}),
        ("fushuji", "task-fire", "task", 1, None, {"gate": "approved"}),
        ("zhenyuan", "task-flood", "task", None, "T01V01", {
            "title": "汛后地质灾害隐患点复查", "detail": "对村内两处隐患点复查一次，情况报镇应急办。", "due": day(6),
            "item_code": "SX-112"}),
        ("zhenyuan", "task-chargers", "task", None, "T01V01", {
            "title": "统计电动自行车集中充电设施", "due": day(10),
            "offlist_reason": "县消防救援大队冬季专项排查，清单暂无对应事项，只需各村统计一次。",
            "support_department": "县消防救援大队"}),
        ("zhenyuan", "task-card-again", "task", None, "T01V01", {
            "title": "老年优待证办理情况再摸底", "item_code": "SX-042", "due": day(4)}),
        ("lihua", "problem-roof", "problem", None, None, {
            "title": "两户留守老人屋顶漏雨", "category": "民生保障", "urgent": True, "owner": "lihua",
            "source_type": "visit"}),
    ]
    for step, (username, key, rtype, base, unit, fields) in enumerate(records):
        op = {"op": _id(f"op-{key}-{step}"), "type": rtype, "id": _id(key), "base": base, "set": fields}
        ops.append((username, op | ({"unit": unit} if unit else {})))
    return ops
