"""Configuration: defaults, then the instance folder, then the environment."""
import os
import secrets
from pathlib import Path


def secret_key(instance_path: str) -> str:
    """Read the instance's secret key, generating it on first run."""
    path = Path(instance_path) / "secret_key"
    try:  # created exclusively: workers starting together on a fresh instance agree on one key
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32))
    return path.read_text().strip()


def database_url(instance_path: str) -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return "sqlite:///" + str(Path(instance_path) / "zhucun.sqlite")
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def load(app, test_config=None) -> None:
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=database_url(app.instance_path),
        BABEL_DEFAULT_LOCALE="zh_CN",
        BABEL_DEFAULT_TIMEZONE="Asia/Shanghai",
        LANGUAGES=["zh_CN", "en"],
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_DURATION=60 * 60 * 24 * 30,
        REMEMBER_COOKIE_HTTPONLY=True,
        # A device unused this long is signed out: a phone syncs weekly at best, and a month covers leave or a
        # broken phone; a township browser lasts a working day.
        TOKEN_IDLE_DAYS=30,
        SESSION_IDLE_HOURS=10,
        # The largest request: 100 ops (the phone's batch) of the longest journal (20,000 characters, 3 bytes
        # each in UTF-8) is 6 MB. Form fields stay under Werkzeug's own 500 KB.
        MAX_CONTENT_LENGTH=8 * 1024 * 1024,
        HTTPS=False,      # served over HTTPS (directly or behind a proxy): Secure cookies and HSTS
        PROXY_HOPS=0,     # reverse proxies in front whose X-Forwarded-* headers are trusted
        WTF_CSRF_TIME_LIMIT=None,
        SYNC_MAX_OPS=500,
        SYNC_MAX_LIMIT=1000,
        SYNC_DEFAULT_LIMIT=200,
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("ZHUCUN")
    else:
        app.config.from_mapping(test_config)
    if app.config["HTTPS"]:
        app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True, PREFERRED_URL_SCHEME="https")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key(app.instance_path)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 30}})
