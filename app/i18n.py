"""Locale: the user's explicit choice (a cookie), else Simplified Chinese.

Babel reads zh_CN as zh_Hans_CN, and gettext then looks in zh_Hans_CN/ or zh/, so the Chinese
catalog lives in app/translations/zh/.
"""
from flask import current_app, redirect, request, url_for
from flask_babel import get_locale

from .security import safe_next

COOKIE = "lang"


def select_locale() -> str:
    chosen = request.cookies.get(COOKIE)
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def init_app(app) -> None:
    @app.context_processor
    def locale_context():
        locale = get_locale()
        return {"html_lang": "zh-CN" if locale.language == "zh" else locale.language}

    @app.get("/lang/<code>")
    def set_language(code):
        response = redirect(safe_next(request.args.get("next"), url_for("auth.login")))
        if code in app.config["LANGUAGES"]:
            response.set_cookie(COOKIE, code, max_age=60 * 60 * 24 * 365, samesite="Lax")
        return response
