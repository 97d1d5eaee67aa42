"""Zhucun: the Flask application factory."""
import os
from pathlib import Path

from flask import Flask

from . import assets, config, database, dates, i18n, names, security, wire  # noqa: F401 (database registers pragmas)
from .extensions import babel, csrf, db, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config=None) -> Flask:
    app = Flask(__name__, instance_relative_config=True, template_folder=str(ROOT / "templates"),
                instance_path=os.environ.get("ZHUCUN_INSTANCE") or None)
    config.load(app, test_config)
    wire.init_app(app)  # first: its after_request hook (compression) runs last

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    login_manager.init_app(app)
    security.init_app(app)
    assets.init_app(app)
    i18n.init_app(app)
    names.init_app(app)
    dates.init_app(app)

    from . import auth, api, field, township, reports, cli, ratelimit
    app.register_blueprint(auth.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(field.bp)
    app.register_blueprint(township.bp)
    app.register_blueprint(reports.bp)
    from .reports.monthly_routes import bp as monthly_bp
    app.register_blueprint(monthly_bp)
    from .reports.ledger_routes import bp as ledgers_bp
    app.register_blueprint(ledgers_bp)
    from .worklist.routes import bp as worklist_bp
    app.register_blueprint(worklist_bp)
    from .attachments import bp as attachments_bp
    app.register_blueprint(attachments_bp)
    ratelimit.init_app(app)
    cli.init_app(app)
    return app
