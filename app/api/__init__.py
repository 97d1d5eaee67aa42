from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from . import errors, routes, schema  # noqa: E402,F401
