"""The township's pages: the review queue and comments, the villages' records with search and filters,
the village overview, devices."""
from flask import Blueprint

bp = Blueprint("township", __name__, url_prefix="/township")

from . import record_routes, review_routes, routes  # noqa: E402,F401
