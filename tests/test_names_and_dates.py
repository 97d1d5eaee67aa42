"""People by their names, devices by what they are, weeks as dates, counts in the right form.

Pages name people by their display name (王建国); the wire keeps usernames. A device reads "Android 手机 · Chrome",
a week "11月30日–12月6日", a count "1 household visited" / "2 households visited"."""
import datetime as dt
import json
import re

import pytest
from flask_babel import force_locale
from sqlalchemy import select, update

from app import dates, device_names
from app.extensions import db
from app.models import User
from tests.conftest import PASSWORD
from tests.test_township_records import create, login, page

ANDROID_CHROME = ("Mozilla/5.0 (Linux; Android 13; 22081212C) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/120.0.6099.144 Mobile Safari/537.36")
WECHAT_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Mobile/15E148 MicroMessenger/8.0.44(0x18002c2f) NetType/WIFI Language/zh_CN")


def name(app, username, display_name):
    with app.app_context():
        db.session.execute(update(User).where(User.username == username).values(display_name=display_name))
        db.session.commit()


def test_create_user_takes_a_name_and_a_bad_one_changes_nothing(app, runner):
    runner.invoke(args=["create-unit", "C1", "县", "--level", "county"])
    result = runner.invoke(args=["create-user", "zhangwei", "--role", "admin", "--unit", "C1",
                                 "--password", "long-enough", "--name", "张伟"])
    assert result.exit_code == 0 and "张伟" in result.output, result.output
    result = runner.invoke(args=["create-user", "other", "--role", "admin", "--unit", "C1",
                                 "--password", "long-enough", "--name", "名" * 65])
    assert result.exit_code != 0 and "at most 64" in result.output
    with app.app_context():
        users = {u.username: u.display_name for u in db.session.scalars(select(User))}
    assert users == {"zhangwei": "张伟"}


def test_township_pages_name_people_and_the_wire_keeps_usernames(app, client, world):
    name(app, "sec1", "王建国")
    journal = create(app, "sec1", "journal", date=dt.date.today().isoformat(), text="走访三户", visits=3)
    login(client, "staff1", lang="zh_CN")
    for path in ("/township/journals", f"/township/records/journal/{journal}"):
        html = page(client, path)
        assert "王建国" in html and ">sec1<" not in html, path
    assert "staff1" in page(client, "/township/journals"), "someone without a display name keeps the username"

    phone = client.application.test_client()
    token = phone.post("/api/auth/token", json={"username": "sec1", "password": PASSWORD}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    me = phone.get("/api/me", headers=headers).get_json()
    assert (me["user"]["username"], me["user"]["name"]) == ("sec1", "王建国")
    history = phone.get(f"/api/history/journal/{journal}", headers=headers).get_json()
    assert {entry["user"] for entry in history["history"]} == {"sec1"}


def test_devices_are_named_as_people_know_them(app, client, world):
    phone = app.test_client()
    phone.post("/api/auth/token", json={"username": "sec1", "password": PASSWORD}, headers={"User-Agent": ANDROID_CHROME})
    phone.post("/login", data={"username": "sec1", "password": PASSWORD}, headers={"User-Agent": WECHAT_IPHONE})
    phone.post("/api/auth/token", json={"username": "cadre1", "password": PASSWORD, "device_name": "村委会的平板"})
    login(client, "staff1", lang="zh_CN")
    html = page(client, "/township/devices")
    for shown in ("Android 手机 · Chrome", "iPhone · 微信", "村委会的平板"):
        assert shown in html
    assert "Chrome/120" not in html and "Mozilla" not in html


@pytest.mark.parametrize("stored, zh, en", [
    (ANDROID_CHROME, "Android 手机 · Chrome", "Android phone · Chrome"),
    ("Linux x86_64 Chrome/156", "Linux 电脑 · Chrome", "Linux computer · Chrome"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edg/120.0", "Windows 电脑 · Edge", "Windows computer · Edge"),
    ("zhucun-cli", "zhucun-cli", "zhucun-cli"),
])
def test_a_device_name_in_both_languages(app, stored, zh, en):
    with app.test_request_context():
        with force_locale("zh_CN"):
            assert device_names.friendly(stored) == zh
        with force_locale("en"):
            assert device_names.friendly(stored) == en


def test_a_week_reads_as_its_dates(app, monkeypatch):
    monkeypatch.setattr(dates, "_today", lambda: dt.date(2026, 12, 2))
    with app.test_request_context():
        with force_locale("zh_CN"):
            assert dates.week_text("2026-W49") == "11月30日–12月6日"
            assert dates.week_text("2026-W53") == "2026年12月28日–2027年1月3日"
            assert dates.week_text("not a week") == "not a week"
        with force_locale("en"):
            assert dates.week_text("2026-W49") == "Nov 30 – Dec 6"
            assert dates.week_text("2025-W02") == "Jan 6, 2025 – Jan 12, 2025"


def field_strings(client, lang: str) -> dict:
    client.set_cookie("lang", lang)
    html = client.get("/field").get_data(as_text=True)
    return json.loads(re.search(r'<script type="application/json" id="strings">(.*?)</script>', html, re.S).group(1))


def test_the_phone_gets_each_count_in_its_languages_forms(client):
    english = field_strings(client, "en")
    assert (english["visits.one"], english["visits.other"]) == ("{n} household visited", "{n} households visited")
    chinese = field_strings(client, "zh_CN")
    assert chinese["visits.one"] == chinese["visits.other"] == "走访 {n} 户"
