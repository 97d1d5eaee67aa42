"""Error pages in the reader's language, saying what happened and what to do (the API answers JSON instead)."""
from flask import jsonify, render_template
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from .security import wants_json

MESSAGES = {
    400: (_l("The request could not be understood"), _l("Go back and try again. If it keeps happening, tell the "
                                                          "township's administrator what you did.")),
    403: (_l("Not allowed"), _l("Your account may not open this page.")),
    404: (_l("Page not found"), _l("The page or record does not exist, or it is outside your area.")),
    405: (_l("The request could not be understood"), _l("Go back and try again.")),
    413: (_l("Too much at once"), _l("What was sent is larger than the server accepts (8 MB for a request). "
                                      "Nothing was saved. Send less at a time, or a smaller file.")),
    429: (_l("Too many attempts"), _l("Wait a few minutes, then try again.")),
    500: (_l("The server failed"), _l("Nothing was lost on the phone. Try again in a moment.")),
}


def page(error: HTTPException):
    """The error page, or for a client asking for JSON the API's error shape with the same words."""
    title, advice = MESSAGES.get(error.code, (error.name, ""))
    if error.description != type(error).description:  # the view said what was wrong (already translated)
        advice = error.description
    headers = {key: value for key, value in error.get_response().headers.items() if key == "Retry-After"}
    if wants_json():
        from .api.errors import CODES  # the API's names for the codes (it imports this module)
        code = CODES.get(error.code, "server_error" if error.code >= 500 else "error")
        return jsonify({"error": {"code": code, "message": str(advice or title)}}), error.code, headers
    body = render_template("error.html", code=error.code, title=title, advice=advice)
    return body, error.code, headers
