"""GET /api/schema: the merge table of sync/types.py as the phone reads it, with labels in its language.

Public (it holds rules, not records) and cacheable by ETag; the phone keeps a copy for offline use.
"""
from flask import current_app, jsonify, request
from flask_babel import force_locale

from sync.schema import schema

from .. import labels
from . import bp


@bp.get("/schema")
def served_schema():
    lang = request.args.get("lang", "").replace("-", "_")
    lang = lang if lang in current_app.config["LANGUAGES"] else current_app.config["BABEL_DEFAULT_LOCALE"]
    body = schema()
    with force_locale(lang):
        body["labels"] = labels.for_schema()
    body["lang"] = lang
    response = jsonify(body)
    response.set_etag(f"{body['version']}-{lang}")
    response.cache_control.no_cache = True
    return response.make_conditional(request)
