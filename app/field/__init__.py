"""The secretary's phone: the field page, the service worker, the manifest, the offline page."""
from flask import Blueprint

bp = Blueprint("field", __name__)

from . import routes  # noqa: E402,F401
