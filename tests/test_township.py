"""Township pages: scope, filters, pagination, the village overview, devices and revoking, locale."""
from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from sqlalchemy import select, update

from app import sync_service
from app.cli import add_unit
from app.extensions import db
from app.models import SYNCED_MODELS, Device, Unit, User, utcnow
from app.township.queries import iso_week_bounds, local_today, to_local
from tests.conftest import PAST_YEAR, PASSWORD, make_app


# ---------------------------------------------------------------- helpers

def login(client, username):
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def add_journals(app, username, items):
    """Write journals through the one write path; items are dicts of journal fields."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        ops = [{"op": str(uuid.uuid4()), "type": "journal", "id": str(uuid.uuid4()), "base": None,
                "set": fields} for fields in items]
        results = sync_service.submit(user, ops)
        assert all(r["status"] == "applied" for r in results), results


def set_last_sync(app, code, when):
    with app.app_context():
        db.session.scalar(select(Unit).where(Unit.code == code)).last_sync_at = when
        db.session.commit()


def age_records(app, code, when):
    """Move a village's records back in time, as if they had arrived then."""
    with app.app_context():
        unit_id = db.session.scalar(select(Unit.id).where(Unit.code == code))
        for model in SYNCED_MODELS.values():
            db.session.execute(update(model).where(model.unit_id == unit_id).values(created_at=when, updated_at=when))
        db.session.commit()


def issue_device(client, username, name):
    response = client.post("/api/auth/token", json={"username": username, "password": PASSWORD,
                                                    "device_name": name})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def journal_count(html):
    return html.count('class="tw-journal"')


def row_class(html, row_id):
    match = re.search(r'<tr class="([^"]*)" id="' + re.escape(row_id) + '"', html)
    assert match, f"no row {row_id}"
    return match.group(1).split()


def row_html(html, row_id):
    match = re.search(r'<tr[^>]* id="' + re.escape(row_id) + r'">(.*?)</tr>', html, re.S)
    assert match, f"no row {row_id}"
    return match.group(1)


# ---------------------------------------------------------------- access

@pytest.mark.parametrize("path", ["/township/journals", "/township/villages", "/township/devices"])
def test_anonymous_is_sent_to_login(client, world, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("username", ["sec1", "cadre1"])
def test_field_user_is_sent_to_the_phone_pages(app, client, world, username):
    login(client, username)
    for path in ("/township/journals", "/township/villages", "/township/devices"):
        response = client.get(path)
        assert response.status_code == 302
        with app.test_request_context():
            from flask import url_for
            assert response.headers["Location"].endswith(url_for("field.home"))


@pytest.mark.parametrize("username", ["staff1", "approver1", "admin"])
def test_township_roles_and_admin_may_enter(client, world, username):
    login(client, username)
    for path in ("/township/journals", "/township/villages", "/township/devices"):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert 'class="township-nav"' in html
        assert "/township/villages" in html and "/township/devices" in html


def test_login_of_township_user_lands_on_journals(client, world):
    response = client.post("/login", data={"username": "staff1", "password": PASSWORD})
    assert response.headers["Location"].endswith("/township/journals")


# ---------------------------------------------------------------- journals

def test_journals_are_scoped_to_the_township(client, app, world):
    add_journals(app, "sec1", [{"text": "一村的日志", "date": f"{PAST_YEAR}-03-01"}])
    add_journals(app, "sec2", [{"text": "三村的秘密", "date": f"{PAST_YEAR}-03-02"}])
    login(client, "staff1")
    html = client.get("/township/journals").get_data(as_text=True)
    assert "一村的日志" in html
    assert "三村的秘密" not in html and "三村" not in html

    # Another township's village code: nothing of it, and no hint whether it exists.
    response = client.get("/township/journals?village=V21")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert 'id="unknown-village"' in html
    assert "三村的秘密" not in html and "一村的日志" not in html
    unknown = client.get("/township/journals?village=NOPE")
    assert unknown.status_code == 404
    assert 'id="unknown-village"' in unknown.get_data(as_text=True)


def test_staff2_sees_only_their_township_and_admin_sees_both(client, app, world):
    add_journals(app, "sec1", [{"text": "一村的日志", "date": f"{PAST_YEAR}-03-01"}])
    add_journals(app, "sec2", [{"text": "三村的日志", "date": f"{PAST_YEAR}-03-02"}])
    login(client, "staff2")
    html = client.get("/township/journals").get_data(as_text=True)
    assert "三村的日志" in html and "一村的日志" not in html
    client.post("/logout")
    login(client, "admin")
    html = client.get("/township/journals").get_data(as_text=True)
    assert "三村的日志" in html and "一村的日志" in html


def test_journal_row_shows_all_fields_newest_first_with_line_breaks(client, app, world):
    add_journals(app, "sec1", [
        {"text": "较早的一天", "date": f"{PAST_YEAR}-03-01"},
        {"text": "第一行\n第二行", "date": f"{PAST_YEAR}-03-05", "visits": 7, "places": "村东组\n水渠",
         "reflection": "大事共商，小事互助。"},
    ])
    login(client, "staff1")
    html = client.get("/township/journals").get_data(as_text=True)
    assert html.index("第一行") < html.index("较早的一天")
    assert "第一行\n第二行" in html          # kept as typed; CSS pre-wrap shows the break
    assert "村东组\n水渠" in html and "大事共商，小事互助。" in html
    assert f'<time datetime="{PAST_YEAR}-03-05">' in html
    assert "一村" in html and "sec1" in html
    assert ">7<" in html


def test_deleted_journals_are_not_listed(client, app, world):
    add_journals(app, "sec1", [{"text": "留着", "date": f"{PAST_YEAR}-03-01"}])
    with app.app_context():
        from app.models import Journal
        row = db.session.scalar(select(Journal))
        row.deleted = True
        db.session.commit()
    login(client, "staff1")
    assert "留着" not in client.get("/township/journals").get_data(as_text=True)


def test_village_filter(client, app, world):
    add_journals(app, "sec1", [{"text": "一村甲", "date": f"{PAST_YEAR}-03-01"}])
    add_journals(app, "sec12", [{"text": "二村乙", "date": f"{PAST_YEAR}-03-02"}])
    login(client, "staff1")
    html = client.get("/township/journals?village=V12").get_data(as_text=True)
    assert "二村乙" in html and "一村甲" not in html
    assert '<option value="V12" selected>' in html
    html = client.get("/township/journals?village=V11").get_data(as_text=True)
    assert "一村甲" in html and "二村乙" not in html


def test_pagination_fifty_per_page_with_links(client, app, world):
    start = dt.date(PAST_YEAR, 1, 1)
    add_journals(app, "sec1", [{"text": f"日志{i:03d}", "date": (start + dt.timedelta(days=i)).isoformat()}
                               for i in range(120)])
    add_journals(app, "sec12", [{"text": "二村的一篇", "date": f"{PAST_YEAR}-06-30"}])
    login(client, "staff1")

    first = client.get("/township/journals?village=V11").get_data(as_text=True)
    assert journal_count(first) == 50
    assert "日志119" in first and "日志070" in first and "日志069" not in first
    assert 'href="/township/journals?village=V11&amp;page=2"' in first
    assert 'href="/township/journals?village=V11&amp;page=3"' in first

    third = client.get("/township/journals?village=V11&page=3").get_data(as_text=True)
    assert journal_count(third) == 20
    assert "日志019" in third and "日志000" in third and "日志020" not in third
    assert 'rel="prev"' in third and 'rel="next"' not in third

    everything = client.get("/township/journals?page=1").get_data(as_text=True)
    assert journal_count(everything) == 50 and "二村的一篇" in everything   # newest of all

    beyond = client.get("/township/journals?village=V11&page=9")
    assert beyond.status_code == 200 and journal_count(beyond.get_data(as_text=True)) == 0
    assert journal_count(client.get("/township/journals?page=abc").get_data(as_text=True)) == 50


# ---------------------------------------------------------------- village overview

def test_overview_lists_only_the_township_and_marks_silence(client, app, world):
    now = utcnow()
    with app.app_context():
        add_unit("V13", "四村", "village", "T1")
        db.session.commit()
    set_last_sync(app, "V11", now - dt.timedelta(days=10))
    set_last_sync(app, "V13", now - dt.timedelta(hours=2))
    set_last_sync(app, "V21", now - dt.timedelta(days=30))
    today = local_today()
    monday, _ = iso_week_bounds(today)
    add_journals(app, "sec1", [{"text": "本周一", "date": today.isoformat()},
                               {"text": "本周二", "date": monday.isoformat()},
                               {"text": "上周", "date": (monday - dt.timedelta(days=1)).isoformat()}])
    age_records(app, "V11", now - dt.timedelta(days=10))   # written when it last synced

    login(client, "staff1")
    html = client.get("/township/villages").get_data(as_text=True)
    assert 'id="village-V21"' not in html and "三村" not in html

    # Never synced first, then the longest silence, then the recent one.
    assert html.index('id="village-V12"') < html.index('id="village-V11"') < html.index('id="village-V13"')

    assert "silent" in row_class(html, "village-V11")
    eleven = row_html(html, "village-V11")
    assert 'class="tw-flag"' in eleven              # a text marker, not colour alone
    assert "10" in eleven and "一镇" in eleven

    assert {"silent", "never"} <= set(row_class(html, "village-V12"))
    assert 'class="tw-flag"' in row_html(html, "village-V12")

    assert "silent" not in row_class(html, "village-V13")
    thirteen = row_html(html, "village-V13")
    assert 'class="tw-flag"' not in thirteen
    shown = (now - dt.timedelta(hours=2) + dt.timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")  # Asia/Shanghai
    assert shown in thirteen

    # This ISO week's journals: two of three count.
    assert re.search(r'village=V11">2</a>', eleven)


def test_silence_of_exactly_seven_days_is_not_yet_marked(client, app, world):
    set_last_sync(app, "V11", utcnow() - dt.timedelta(days=7) + dt.timedelta(minutes=5))
    login(client, "staff1")
    html = client.get("/township/villages").get_data(as_text=True)
    assert "silent" not in row_class(html, "village-V11")


def test_field_sync_updates_the_overview(client, app, world):
    phone = issue_device(client, "sec1", "红米")
    response = client.post("/api/sync", json={"device": phone["device"], "cursor": None, "ops": []},
                           headers={"Authorization": f"Bearer {phone['token']}"})
    assert response.status_code == 200
    login(client, "staff1")
    html = client.get("/township/villages").get_data(as_text=True)
    assert "silent" not in row_class(html, "village-V11")
    assert "never" in row_class(html, "village-V12")


def test_a_village_whose_records_arrived_without_a_phone_sync_is_not_never_synced(client, app, world):
    """The overview's last activity is the newest of the phones' sync and the village's own writes, whatever
    the path (here the one write path without a device, as the demo seeder and server-side forms use it)."""
    add_journals(app, "sec1", [{"text": "本周走访", "date": local_today().isoformat()}])
    with app.app_context():   # the township's own write to V12 is not V12's activity
        staff = db.session.scalar(select(User).where(User.username == "staff1"))
        result = sync_service.submit(staff, [{"op": str(uuid.uuid4()), "type": "task", "id": str(uuid.uuid4()),
                                              "base": None, "unit": "V12",
                                              "set": {"title": "排查", "item_code": "SX-101"}}])[0]
        assert result["status"] == "applied", result
    login(client, "staff1")
    client.set_cookie("lang", "en")
    html = client.get("/township/villages").get_data(as_text=True)

    eleven = row_html(html, "village-V11")
    assert {"silent", "never"}.isdisjoint(row_class(html, "village-V11"))
    assert "Never synced" not in eleven and "No phone has synced yet" in eleven
    assert to_local(utcnow()).strftime("%Y-%m-%d") in eleven
    assert {"silent", "never"} <= set(row_class(html, "village-V12"))

    # Silence is counted from the newest of the two: a sync older than the journal does not make it silent,
    # and an old journal does not hide a recent sync.
    set_last_sync(app, "V11", utcnow() - dt.timedelta(days=20))
    html = client.get("/township/villages").get_data(as_text=True)
    assert "silent" not in row_class(html, "village-V11") and "Phone sync: " in row_html(html, "village-V11")
    age_records(app, "V11", utcnow() - dt.timedelta(days=30))
    html = client.get("/township/villages").get_data(as_text=True)
    assert "silent" in row_class(html, "village-V11") and "20 days" in row_html(html, "village-V11")
    set_last_sync(app, "V11", utcnow() - dt.timedelta(hours=1))
    html = client.get("/township/villages").get_data(as_text=True)
    assert "silent" not in row_class(html, "village-V11") and "Phone sync" not in row_html(html, "village-V11")


# ---------------------------------------------------------------- devices

def test_devices_are_scoped_and_revoking_another_townships_device_fails(client, app, world):
    mine = issue_device(client, "sec1", "一村的手机")
    theirs = issue_device(client, "sec2", "三村的手机")
    login(client, "staff1")
    html = client.get("/township/devices").get_data(as_text=True)
    assert f'id="device-{mine["device"]}"' in html and "一村的手机" in html
    assert theirs["device"] not in html and "三村的手机" not in html

    response = client.post(f"/township/devices/{theirs['device']}/revoke")
    assert response.status_code == 302 and response.headers["Location"].endswith("/township/devices")
    page = client.get("/township/devices").get_data(as_text=True)
    assert "flash-error" in page
    with app.app_context():
        assert db.session.get(Device, theirs["device"]).revoked_at is None
    me = client.get("/api/me", headers={"Authorization": f"Bearer {theirs['token']}"})
    assert me.status_code == 200


def test_revoking_a_device_in_scope(client, app, world):
    mine = issue_device(client, "sec1", "一村的手机")
    login(client, "staff1")
    response = client.post(f"/township/devices/{mine['device']}/revoke", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "flash-success" in html
    with app.app_context():
        device = db.session.get(Device, mine["device"])
        staff = db.session.scalar(select(User).where(User.username == "staff1"))
        assert device.revoked_at is not None and device.revoked_by == staff.id
    assert "revoked" in row_class(html, f"device-{mine['device']}")
    assert f"/township/devices/{mine['device']}/revoke" not in html   # no second button
    assert client.get("/api/me", headers={"Authorization": f"Bearer {mine['token']}"}).status_code == 401


def test_revoke_needs_a_csrf_token(app, world, database_url):
    protected = make_app(database_url, WTF_CSRF_ENABLED=True)
    client = protected.test_client()
    device = issue_device(client, "sec1", "一村的手机")
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/login", data={"username": "staff1", "password": PASSWORD, "csrf_token": token})
    html = client.get("/township/devices").get_data(as_text=True)
    assert 'name="csrf_token"' in html
    refused = client.post(f"/township/devices/{device['device']}/revoke",
                          headers={"Referer": "http://localhost/township/devices"})
    assert refused.status_code == 302 and refused.headers["Location"] == "http://localhost/township/devices"
    with protected.app_context():
        assert db.session.get(Device, device["device"]).revoked_at is None
    form_token = re.search(r'<input type="hidden" name="csrf_token" value="([^"]+)">', html).group(1)
    ok = client.post(f"/township/devices/{device['device']}/revoke", data={"csrf_token": form_token})
    assert ok.status_code == 302
    with protected.app_context():
        assert db.session.get(Device, device["device"]).revoked_at is not None


def test_field_user_cannot_revoke(client, app, world):
    device = issue_device(client, "sec12", "二村的手机")
    login(client, "sec1")
    response = client.post(f"/township/devices/{device['device']}/revoke")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Device, device["device"]).revoked_at is None


# ---------------------------------------------------------------- locale

def test_pages_are_chinese_by_default_and_english_on_request(client, world):
    login(client, "staff1")
    set_last_sync(client.application, "V11", utcnow() - dt.timedelta(days=10))
    html = client.get("/township/villages").get_data(as_text=True)
    assert "村情概览" in html and "从未同步" in html and "超过 7 天未同步" in html and "10 天" in html
    assert "Never synced" not in html
    assert "驻村日志" in client.get("/township/journals").get_data(as_text=True)
    assert "停用" in client.get("/township/devices").get_data(as_text=True)

    client.set_cookie("lang", "en")
    html = client.get("/township/villages").get_data(as_text=True)
    assert "Never synced" in html and "从未同步" not in html
