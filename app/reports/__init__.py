"""Weekly reports, charts and exports for the township: by-products of what the villages recorded."""
from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/township")

from . import routes  # noqa: E402,F401
