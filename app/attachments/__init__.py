"""Photos: the bytes behind `attachment` records, uploaded resumably (the core of tus 1.0) and served in scope."""
from flask import Blueprint

bp = Blueprint("attachments", __name__, url_prefix="/api/attachments")

from . import removal, routes  # noqa: E402,F401
