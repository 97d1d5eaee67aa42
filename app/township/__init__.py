"""The township's pages: the review queue and comments, the villages' records with search and filters,
the village overview, devices, and dispatching tasks through the gate (dispatch.py)."""
from flask import Blueprint

bp = Blueprint("township", __name__, url_prefix="/township")

from . import dispatch, record_routes, review_routes, routes  # noqa: E402,F401
