"""JSON errors for the API: never an HTML page, never a redirect."""
from flask import current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from sync import EnvelopeError

from .. import error_pages

from . import bp

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type", 429: "too_many_requests"}


def error_response(status: int, code: str, message: str, field: str | None = None):
    error = {"code": code, "message": message}
    if field:
        error["field"] = field
    response = jsonify({"error": error})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="zhucun"'
    return response


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


@bp.errorhandler(ApiError)
def api_error(error: ApiError):
    return error_response(error.status, error.code, error.message, error.field)


@bp.errorhandler(EnvelopeError)
def envelope_error(error: EnvelopeError):
    return error_response(error.status, error.code, error.message, error.field)


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException):
    """JSON under /api/ (including unknown API routes); the usual pages elsewhere."""
    if not request.path.startswith("/api/"):
        return error_pages.page(error) if error.code >= 400 else error
    if error.code == 413:
        limit = current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        return error_response(413, "too_large", f"The request is larger than {limit} MB; nothing was applied. "
                                                "Send fewer ops at a time.")
    return error_response(error.code, CODES.get(error.code, "error"), error.description)


@bp.errorhandler(Exception)
def unhandled(error: Exception):
    if isinstance(error, HTTPException):  # the blueprint's catch-all is found before the app's HTTP handler
        return http_error(error)
    current_app.logger.exception("API request failed")
    return error_response(500, "server_error", "The server failed; nothing in this request was applied. Try again.")
