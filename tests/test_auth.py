"""Log in and out, where each role lands, and the protections every page carries."""
import re
import pytest

from app import create_app
from tests.conftest import PASSWORD, make_app


def log_in(client, username, password=PASSWORD):
    return client.post("/login", data={"username": username, "password": password})


@pytest.mark.parametrize("username, home", [("sec1", "/field"), ("cadre1", "/field"),
                                            ("staff1", "/township/journals"), ("admin", "/township/journals")])
def test_each_role_lands_on_its_home(client, world, username, home):
    response = log_in(client, username)
    assert response.status_code == 302 and response.headers["Location"] == home


def test_wrong_password_stays_on_the_login_page(client, world):
    response = log_in(client, "sec1", "wrong")
    assert response.status_code == 401
    assert client.get("/township/journals").status_code == 302


def test_logout_needs_its_form_and_ends_the_session(client, world):
    log_in(client, "staff1")
    client.post("/logout")
    assert client.get("/township/journals").status_code == 302


def test_login_form_is_protected_by_csrf(database_url, world):
    app = make_app(database_url, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    response = client.post("/login", data={"username": "sec1", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/api/me").status_code == 401  # the form without its token logged nobody in
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": "sec1", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


def test_pages_carry_a_csp_without_inline_scripts(client, world):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    html = response.get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts
    for attributes, body in scripts:
        assert "src=" in attributes or 'type="application/json"' in attributes, attributes


def test_chinese_by_default_and_english_on_request(client, world):
    assert "登录" in client.get("/login").get_data(as_text=True)
    client.get("/lang/en?next=/login")
    assert "Log in" in client.get("/login").get_data(as_text=True)


def test_secret_key_is_generated_into_the_instance_folder_once(tmp_path, monkeypatch):
    monkeypatch.setenv("ZHUCUN_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("DATABASE_URL", "postgres://someone@db.example/zhucun")
    app_one, app_two = create_app(), create_app()
    key_file = tmp_path / "instance" / "secret_key"
    assert len(app_one.config["SECRET_KEY"]) == 64
    assert app_one.config["SECRET_KEY"] == app_two.config["SECRET_KEY"] == key_file.read_text().strip()
    assert app_one.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://someone@db.example/zhucun"
    monkeypatch.delenv("DATABASE_URL")
    assert create_app().config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'instance' / 'zhucun.sqlite'}"


@pytest.mark.parametrize("target", ["//evil.example", "/\t/evil.example", "https://evil.example/",
                                    "/\\evil.example", "javascript:alert(1)"])
def test_no_redirect_leaves_the_site(client, world, target):
    language = client.get("/lang/en", query_string={"next": target})
    assert language.headers["Location"] == "/login"
    login = client.post("/login", query_string={"next": target}, data={"username": "sec1", "password": PASSWORD})
    assert login.headers["Location"] == "/field"


def test_revoking_the_device_ends_the_page_session_opened_with_it(client, world):
    token = client.post("/api/auth/token", json={"username": "staff1", "password": PASSWORD}).get_json()
    client.post("/login", data={"username": "staff1", "password": PASSWORD, "device": token["device"]})
    assert client.get("/township/journals").status_code == 200
    other = client.application.test_client()
    admin = other.post("/api/auth/token", json={"username": "admin", "password": PASSWORD}).get_json()
    other.post(f"/api/devices/{token['device']}/revoke", headers={"Authorization": f"Bearer {admin['token']}"})
    response = client.get("/township/journals")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/township/journals").headers["Location"].startswith("/login")


def test_a_device_of_someone_else_does_not_bind_the_session(client, world):
    theirs = client.post("/api/auth/token", json={"username": "sec1", "password": PASSWORD}).get_json()
    client.post("/login", data={"username": "staff1", "password": PASSWORD, "device": theirs["device"]})
    with client.session_transaction() as session:
        assert "device" not in session
