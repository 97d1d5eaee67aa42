"""Password guessing: failed logins are limited per username and per address, on the form and the API alike.

Only failures count (answers 401), so a village that logs in correctly all morning behind one NAT address is
never stopped. Once a limit is reached the answer is an immediate 429 with Retry-After, even for the right
password, until the window ends; the server never sleeps. The counts live in the database (see
ratelimit_storage), so every gunicorn worker sees them.
"""
from __future__ import annotations

import hashlib
import json
import math

from flask import Flask, current_app, render_template, request
from flask_babel import ngettext
from flask_limiter import Limiter, RateLimitExceeded, RequestLimit
from werkzeug.exceptions import ClientDisconnected

from . import ratelimit_storage
from .api.errors import error_response
from .extensions import db
from .security import wants_json

# Both doors where a password is checked; they share their counts, so a guesser gains nothing by switching.
PASSWORD_VIEWS = ("auth.login", "api.issue_token")
DEFAULTS = {
    "LOGIN_FAILURES_PER_USER": 10,
    # A whole village or township may sit behind one NAT address: generous, but still a wall for a guesser.
    "LOGIN_FAILURES_PER_ADDRESS": 100,
    "LOGIN_FAILURE_WINDOW_MINUTES": 15,
}


def init_app(app: Flask) -> None:
    """Call after the blueprints are registered: it wraps their password views."""
    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    limiter = Limiter(client_address, strategy="fixed-window", headers_enabled=False, on_breach=refusal,
                      **storage(app))
    limiter.init_app(app)
    per_user = limiter.shared_limit(limit_of("LOGIN_FAILURES_PER_USER"), scope="login-failures-user",
                                    key_func=typed_username, deduct_when=failed, methods=["POST"])
    per_address = limiter.shared_limit(limit_of("LOGIN_FAILURES_PER_ADDRESS"), scope="login-failures-address",
                                       key_func=client_address, deduct_when=failed, methods=["POST"])
    for endpoint in PASSWORD_VIEWS:
        app.view_functions[endpoint] = per_address(per_user(app.view_functions[endpoint]))
    app.register_error_handler(RateLimitExceeded, lambda error: error.get_response())


def storage(app: Flask) -> dict:
    """The project's database, unless the deployment names another storage (RATELIMIT_STORAGE_URI: Redis…)."""
    if app.config.get("RATELIMIT_STORAGE_URI"):
        return {}
    with app.app_context():
        engine = db.engine
    return {"storage_uri": f"{ratelimit_storage.SCHEME}://", "storage_options": {"engine": engine}}


def limit_of(setting: str):
    return lambda: f"{current_app.config[setting]} per {current_app.config['LOGIN_FAILURE_WINDOW_MINUTES']} minutes"


def failed(response) -> bool:
    return response.status_code == 401


def client_address() -> str:
    """The client's address: behind a reverse proxy, ProxyFix (PROXY_HOPS) has made it the real one."""
    return (request.remote_addr or "unknown")[:64]


def typed_username() -> str:
    """The username as typed, case-folded and stripped, from the form or the JSON body.

    Kept as a digest: people type their password into the username field, and it should not sit in a table.
    """
    name = request.form.get("username") if not request.is_json else json_username()
    name = name.strip().casefold() if isinstance(name, str) else ""
    return "user:" + hashlib.sha256(name.encode("utf-8", "replace")).hexdigest()[:32]


def json_username():
    try:
        body = json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError, ClientDisconnected):
        return None  # the view answers 400 with the reason
    return body.get("username") if isinstance(body, dict) else None


def refusal(limit: RequestLimit):
    """The 429: JSON for the API and the phone's login (Accept: application/json), else a page."""
    seconds = max(1, round(limit.window.reset_time - ratelimit_storage.now()))
    minutes = math.ceil(seconds / 60)
    message = ngettext("Too many failed logins. Try again in %(num)d minute.",
                       "Too many failed logins. Try again in %(num)d minutes.", minutes)
    if request.path.startswith("/api/") or wants_json():
        response = error_response(429, "too_many_attempts", message)
    else:
        response = current_app.make_response((render_template("auth/too_many_attempts.html", message=message), 429))
    response.headers["Retry-After"] = str(seconds)
    return response
