"""Password guessing: failed logins are limited per username and per address, counted in the database that every
worker shares; a blocked login answers 429 at once; unknown usernames cost as much time as real ones."""
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask_migrate import upgrade

from app import ratelimit_storage
from app.cli import add_unit, add_user
from app.extensions import db
from app.models import User

from .conftest import PASSWORD, make_app, on_both_databases

WINDOW = 15 * 60
BLOCKED_ZH = "登录失败次数过多"


database_url = on_both_databases()


class Clock:
    def __init__(self):
        self.at = time.time()

    def __call__(self) -> float:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += seconds


@pytest.fixture
def clock(monkeypatch):
    """The limiter's clock, moved by the tests instead of sleeping through a window."""
    clock = Clock()
    monkeypatch.setattr(ratelimit_storage, "now", clock)
    return clock


def token(client, username, password=PASSWORD, **kwargs):
    return client.post("/api/auth/token", json={"username": username, "password": password}, **kwargs)


def form_login(client, username, password=PASSWORD, **kwargs):
    return client.post("/login", data={"username": username, "password": password}, **kwargs)


def fail(login, client, username, times):
    for _ in range(times):
        assert login(client, username, "wrong").status_code == 401


def retry_after(response) -> int:
    seconds = int(response.headers["Retry-After"])
    assert 0 < seconds <= WINDOW
    return seconds


def test_the_eleventh_attempt_on_the_api_is_refused_even_with_the_right_password(client, world, clock):
    fail(token, client, "sec1", 10)
    started = time.perf_counter()
    refused = token(client, "sec1")
    assert time.perf_counter() - started < 1  # at once: the server neither sleeps nor checks the password
    assert refused.status_code == 429
    assert retry_after(refused) == WINDOW
    error = refused.get_json()["error"]
    assert error["code"] == "too_many_attempts"
    assert BLOCKED_ZH in error["message"] and "15" in error["message"]

    clock.advance(10 * 60)
    still = token(client, "sec1")
    assert still.status_code == 429 and retry_after(still) == 5 * 60
    assert "5" in still.get_json()["error"]["message"]

    clock.advance(5 * 60 + 1)
    assert token(client, "sec1").status_code == 201


def test_the_form_answers_a_page_in_the_users_language_and_the_phone_json(client, world, clock):
    fail(form_login, client, "sec1", 10)
    page = form_login(client, "sec1")
    assert page.status_code == 429 and retry_after(page) == WINDOW
    html = page.get_data(as_text=True)
    assert page.mimetype == "text/html" and BLOCKED_ZH in html and "15" in html
    assert 'href="/login"' in html and client.get("/login").status_code == 200  # the form itself still opens
    assert client.get("/api/me").status_code == 401  # not logged in

    phone = form_login(client, "sec1", headers={"Accept": "application/json"})
    assert phone.status_code == 429 and retry_after(phone) == WINDOW
    assert phone.get_json()["error"]["code"] == "too_many_attempts"
    assert BLOCKED_ZH in phone.get_json()["error"]["message"]

    client.get("/lang/en")
    assert "Too many failed logins. Try again in 15 minutes." in form_login(client, "sec1").get_data(as_text=True)

    clock.advance(WINDOW + 1)
    assert form_login(client, "sec1").status_code == 302


def test_the_form_and_the_api_share_one_count_of_the_username_as_typed(client, world, clock):
    for name in ("sec1", "SEC1", " Sec1 ", "sec1\t", "sEc1"):
        assert form_login(client, name, "wrong").status_code == 401
        assert token(client, name, "wrong").status_code == 401
    assert token(client, "sec1").status_code == 429
    assert form_login(client, "sec1").status_code == 429


def test_another_user_at_the_same_address_still_logs_in(client, world, clock):
    fail(token, client, "sec1", 10)
    assert token(client, "sec1").status_code == 429
    assert token(client, "sec12").status_code == 201
    assert form_login(client, "sec12").status_code == 302


def test_successful_logins_are_not_counted(client, world, clock):
    for _ in range(12):
        assert token(client, "sec1").status_code == 201
    fail(token, client, "sec1", 9)
    assert token(client, "sec1").status_code == 201


def test_an_address_is_blocked_after_its_own_limit_whoever_it_tries(database_url, world, clock):
    app = make_app(database_url, LOGIN_FAILURES_PER_ADDRESS=6)
    client = app.test_client()
    for name in ("sec1", "sec12", "nobody", "sec2", "staff1", "nobody-else"):
        assert token(client, name, "wrong").status_code == 401
    refused = token(client, "cadre1")
    assert refused.status_code == 429 and retry_after(refused) == WINDOW
    other_address = app.test_client()
    assert token(other_address, "cadre1", environ_base={"REMOTE_ADDR": "10.0.0.7"}).status_code == 201
    with app.app_context():
        db.engine.dispose()


def test_two_workers_on_one_database_share_the_counts(database_url, world, clock):
    one, two = make_app(database_url), make_app(database_url)
    client_one, client_two = one.test_client(), two.test_client()
    fail(token, client_one, "sec1", 5)
    fail(form_login, client_two, "sec1", 5)
    assert token(client_one, "sec1").status_code == 429
    assert form_login(client_two, "sec1").status_code == 429
    clock.advance(WINDOW + 1)
    assert token(client_two, "sec1").status_code == 201
    for app in (one, two):
        with app.app_context():
            db.engine.dispose()


def test_unknown_usernames_take_as_long_as_real_ones(tmp_path):
    """Usernames cannot be found by timing: with the password hash a deployed server uses (scrypt, not the tests'
    cheap one), a wrong password for a real user and any password for an unknown one take the same time."""
    app = make_app(f"sqlite:///{tmp_path / 'timing.sqlite'}", PASSWORD_HASH_METHOD="scrypt",
                   LOGIN_FAILURES_PER_USER=100)
    with app.app_context():
        upgrade()
        add_unit("C", "县", "county", None)
        add_unit("T", "镇", "township", "C")
        add_unit("V", "村", "village", "T")
        add_user("real", "secretary", "V", PASSWORD)
        db.session.commit()
        assert db.session.scalar(db.select(User.password_hash)).startswith("scrypt:")
    client = app.test_client()
    assert token(client, "real").status_code == 201
    token(client, "warm-up", "wrong")  # the first unknown name may prepare the dummy hash once
    unknown, real = [], []
    for attempt in range(15):  # interleaved, so a slower moment of the machine weighs on both alike
        for name, times in (("nobody", unknown), ("real", real)):
            started = time.perf_counter()
            assert token(client, name, f"wrong-{attempt}").status_code == 401
            times.append(time.perf_counter() - started)
    with app.app_context():
        db.engine.dispose()
    ratio = statistics.median(unknown) / statistics.median(real)
    assert 0.5 <= ratio <= 2, f"unknown {statistics.median(unknown):.4f}s vs real {statistics.median(real):.4f}s"


def test_concurrent_failures_are_all_counted(app, clock):
    """The upsert is atomic: hits from many workers at once are each counted, none lost to a race."""
    (limiter,) = app.extensions["limiter"]
    storage = limiter.storage
    with ThreadPoolExecutor(max_workers=8) as pool:
        counts = list(pool.map(lambda _: storage.incr("LIMITER/race", WINDOW), range(40)))
    assert sorted(counts) == list(range(1, 41))
    assert storage.get("LIMITER/race") == 40
    clock.advance(WINDOW)
    assert storage.get("LIMITER/race") == 0 and storage.incr("LIMITER/race", WINDOW) == 1
