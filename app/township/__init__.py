"""The township's pages: journals of its villages, the village overview, devices."""
from flask import Blueprint

bp = Blueprint("township", __name__, url_prefix="/township")

from . import routes  # noqa: E402,F401
