"""One credential per device: the page session, the remember-me cookie and the bearer token end together."""
import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Device, Journal, User
from tests.conftest import PASSWORD, make_app

JSON = {"Accept": "application/json"}


def phone_login(client, username, device=None):
    """The phone's login page: the form posted by fetch, answered in JSON."""
    data = {"username": username, "password": PASSWORD, "remember": "y"} | ({"device": device} if device else {})
    return client.post("/login", data=data, headers=JSON)


def web_login(client, username, remember=True):
    data = {"username": username, "password": PASSWORD} | ({"remember": "y"} if remember else {})
    return client.post("/login", data=data)


def sync(client, token, ops=()):
    return client.post("/api/sync", json={"cursor": None, "ops": list(ops)},
                       headers={"Authorization": f"Bearer {token}"})


def only_remember_cookie(app, client):
    """A new browser holding nothing but the old remember-me cookie (the session cookie is gone)."""
    remembered = client.get_cookie("remember_token")
    assert remembered is not None, "no remember-me cookie was set"
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remembered.value)
    return fresh


def revoke_as_admin(app, device_id):
    admin = app.test_client()
    token = admin.post("/api/auth/token", json={"username": "admin", "password": PASSWORD}).get_json()["token"]
    response = admin.post(f"/api/devices/{device_id}/revoke", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def device_row(app, device_id) -> Device:
    with app.app_context():
        device = db.session.get(Device, device_id)
        db.session.expunge(device)
        return device


def set_last_used(app, device_id, ago: dt.timedelta):
    with app.app_context():
        device = db.session.get(Device, device_id)
        device.last_used_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - ago
        db.session.commit()


# ---------------------------------------------------------------- one device, ended everywhere at once

def test_revoking_a_phone_ends_its_session_remember_cookie_and_token_at_once(app, client, world):
    answer = phone_login(client, "sec1").get_json()
    token, device = answer["token"], answer["device"]
    remembered = only_remember_cookie(app, client)
    assert client.get("/api/work-items").status_code == 200  # the page session
    assert remembered.get("/api/work-items").status_code == 200  # the remember cookie alone
    assert sync(client, token).status_code == 200
    revoke_as_admin(app, device)
    assert client.get("/api/work-items").status_code == 401
    assert remembered.get("/api/work-items").status_code == 401
    refused = sync(app.test_client(), token)
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "device_revoked"


def test_revoking_a_township_browser_ends_its_pages_and_remember_cookie(app, client, world):
    web_login(client, "staff1")
    remembered = only_remember_cookie(app, client)
    assert remembered.get("/township/journals").status_code == 200
    assert remembered.get("/township/export.sqlite").status_code == 200
    with app.app_context():
        device = db.session.scalar(select(Device).join(User, User.id == Device.user_id).where(User.username == "staff1"))
        device_id = device.id
    revoke_as_admin(app, device_id)
    for browser in (client, remembered):
        page = browser.get("/township/journals")
        assert page.status_code == 302 and page.headers["Location"] == "/login"
        assert browser.get("/township/export.sqlite").status_code == 302


def test_logout_ends_the_page_session_remember_cookie_and_token_of_that_device(app, client, world):
    answer = phone_login(client, "sec1").get_json()
    remembered = only_remember_cookie(app, client)
    other_phone = app.test_client()
    other = phone_login(other_phone, "sec1").get_json()
    logout = client.post("/api/auth/logout", headers={"Authorization": f"Bearer {answer['token']}"})
    assert logout.status_code == 200 and logout.get_json() == {"device": answer["device"], "revoked": True}
    assert client.get("/api/work-items").status_code == 401
    assert remembered.get("/api/work-items").status_code == 401
    assert sync(app.test_client(), answer["token"]).get_json()["error"]["code"] == "device_revoked"
    assert sync(other_phone, other["token"]).status_code == 200, "another phone of the same person goes on"
    assert device_row(app, answer["device"]).revoked_by is not None


def test_the_township_logout_form_ends_the_remember_cookie_too(app, client, world):
    web_login(client, "staff1")
    remembered = only_remember_cookie(app, client)
    assert client.post("/logout").status_code == 302
    assert client.get("/township/journals").status_code == 302
    assert remembered.get("/township/journals").status_code == 302


def test_the_remember_cookie_is_not_the_user_id(app, client, world):
    """Flask-Login's default cookie is `user_id|hmac`: it never changes and survives logout."""
    web_login(client, "staff1")
    first = client.get_cookie("remember_token").value
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == "staff1"))
    assert not first.startswith(f"{user_id}|")
    second = app.test_client()
    web_login(second, "staff1")
    assert second.get_cookie("remember_token").value != first


def test_remember_me_is_a_choice(app, client, world):
    web_login(client, "staff1", remember=False)
    assert client.get_cookie("remember_token") is None
    assert client.get("/township/journals").status_code == 200


# ---------------------------------------------------------------- which logins get a token

def test_township_web_logins_mint_no_bearer_token(app, client, world):
    answer = phone_login(client, "staff1").get_json()
    assert "token" not in answer and answer["next"] == "/township/journals"
    web_login(app.test_client(), "approver1")
    with app.app_context():
        devices = db.session.scalars(select(Device).join(User, User.id == Device.user_id).where(User.role.like("township%"))).all()
        assert len(devices) == 2 and all(d.token_hash is None for d in devices)


def test_the_phones_login_gets_a_token_and_a_page_session_on_one_device(app, client, world):
    answer = phone_login(client, "sec1").get_json()
    assert answer["next"] == "/field" and answer["user"]["username"] == "sec1"
    assert client.get("/api/me").get_json()["device"] == answer["device"]
    me = app.test_client().get("/api/me", headers={"Authorization": f"Bearer {answer['token']}"})
    assert me.get_json()["device"] == answer["device"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Device)) == 1


def test_an_api_client_of_any_role_gets_a_token_and_syncs(app, client, world):
    for username in ("staff1", "approver1", "admin", "sec1"):
        body = client.post("/api/auth/token", json={"username": username, "password": PASSWORD}).get_json()
        assert sync(client, body["token"]).status_code == 200


@pytest.mark.parametrize("username", ["sec1", "staff1"])
def test_a_login_naming_a_live_device_of_the_same_user_hangs_on_it(app, client, world, username):
    token = client.post("/api/auth/token", json={"username": username, "password": PASSWORD}).get_json()
    answer = phone_login(client, username, device=token["device"]).get_json()
    assert answer["device"] == token["device"] and "token" not in answer
    revoke_as_admin(app, token["device"])
    assert client.get("/api/me").status_code == 401


def test_a_login_naming_someone_elses_or_a_revoked_device_gets_a_new_one(app, client, world):
    theirs = client.post("/api/auth/token", json={"username": "sec12", "password": PASSWORD}).get_json()
    answer = phone_login(client, "sec1", device=theirs["device"]).get_json()
    assert answer["device"] != theirs["device"] and answer["token"]
    revoke_as_admin(app, answer["device"])
    again = phone_login(app.test_client(), "sec1", device=answer["device"]).get_json()
    assert again["device"] not in (answer["device"], theirs["device"]) and again["token"]


def test_a_json_login_with_a_wrong_password_answers_json(client, world):
    response = client.post("/login", data={"username": "sec1", "password": "nope"}, headers=JSON)
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "bad_credentials"
    assert client.post("/login", data={"username": "sec1"}, headers=JSON).status_code == 400


# ---------------------------------------------------------------- expiry

def test_an_idle_token_expires_with_its_own_code_and_a_sync_renews_it(app, client, world):
    answer = phone_login(client, "sec1").get_json()
    limit = dt.timedelta(days=app.config["TOKEN_IDLE_DAYS"])
    set_last_used(app, answer["device"], limit - dt.timedelta(days=1))
    assert sync(client, answer["token"]).status_code == 200
    renewed = device_row(app, answer["device"]).last_used_at
    assert dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - renewed < dt.timedelta(minutes=1)
    set_last_used(app, answer["device"], limit + dt.timedelta(hours=1))
    refused = sync(client, answer["token"])
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "token_expired"
    assert client.get("/api/work-items").status_code == 401, "the page session of that phone ends too"


def test_a_township_session_ends_after_a_working_day_idle(app, client, world):
    web_login(client, "staff1")
    remembered = only_remember_cookie(app, client)
    with app.app_context():
        device_id = db.session.scalar(select(Device.id))
    set_last_used(app, device_id, dt.timedelta(hours=app.config["SESSION_IDLE_HOURS"] - 1))
    assert client.get("/township/journals").status_code == 200
    set_last_used(app, device_id, dt.timedelta(hours=app.config["SESSION_IDLE_HOURS"] + 1))
    for browser in (client, remembered):
        page = browser.get("/township/journals")
        assert page.status_code == 302 and page.headers["Location"] == "/login"


def test_the_devices_page_lists_logins_with_their_state(app, client, world):
    phone = phone_login(app.test_client(), "sec1").get_json()
    revoke_as_admin(app, phone["device"])
    web_login(client, "staff1")
    page = client.get("/township/devices").get_data(as_text=True)
    row = page.split(f'id="device-{phone["device"]}"')[1].split("</tr>")[0]
    assert "已吊销" in row and "手机" in row


# ---------------------------------------------------------------- sizes and transport

def test_an_oversized_sync_is_413_and_stores_nothing(app, client, world):
    token = client.post("/api/auth/token", json={"username": "sec1", "password": PASSWORD}).get_json()["token"]
    big = "好" * 1_000_000  # 3 MB of UTF-8 per op
    ops = [{"op": str(uuid.uuid4()), "type": "journal", "id": str(uuid.uuid4()), "base": None,
            "set": {"text": big if i < 3 else "走访"}} for i in range(4)]
    response = sync(client, token, ops)
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "too_large"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Journal)) == 0


def test_an_oversized_token_request_is_413_before_it_is_parsed(client, world):
    response = client.post("/api/auth/token", data=b"{" + b" " * (9 * 1024 * 1024) + b"}",
                           content_type="application/json")
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "too_large"


def test_an_oversized_form_gets_a_page_in_chinese_and_changes_nothing(app, client, world):
    web_login(client, "staff1")
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Device))
    response = client.post("/login", data={"username": "x" * (9 * 1024 * 1024), "password": "p"})
    assert response.status_code == 413 and "text/html" in response.content_type
    assert "太大" in response.get_data(as_text=True) or "过大" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Device)) == before


def test_township_pages_and_exports_are_not_stored_by_browsers(client, world):
    web_login(client, "staff1")
    for path in ("/township/journals", "/township/devices", "/township/export.sqlite", "/login"):
        assert client.get(path).headers.get("Cache-Control") == "no-store", path


def test_behind_https_cookies_are_secure_hsts_is_sent_and_the_proxy_is_trusted(database_url, world):
    app = make_app(database_url, HTTPS=True, PROXY_HOPS=1)
    seen = {}

    @app.get("/_remote")
    def remote():
        from flask import request
        seen.update(addr=request.remote_addr, scheme=request.scheme)
        return ""
    client = app.test_client()
    proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Host": "zhucun.example"}
    response = client.post("/login", data={"username": "staff1", "password": PASSWORD, "remember": "y"},
                           headers=proxy)
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies and all("Secure" in c and "HttpOnly" in c for c in cookies)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert response.headers["Location"] in ("/township/journals", "https://zhucun.example/township/journals")
    client.get("/_remote", headers=proxy)
    assert seen == {"addr": "203.0.113.7", "scheme": "https"}


def test_without_https_configured_there_is_no_hsts(client, world):
    assert "Strict-Transport-Security" not in client.get("/login").headers
