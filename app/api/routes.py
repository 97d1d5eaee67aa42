"""The JSON API: tokens, the sync round trip, device revocation, the OpenAPI description."""
import json

from flask import current_app, jsonify, request
from sqlalchemy import select
from werkzeug.exceptions import ClientDisconnected

from sync.envelope import is_uuid

from .. import credentials, scope, sync_service, wire
from ..extensions import csrf, db
from ..models import Device, User
from ..people import people_of
from ..worklist import service as worklist
from . import bp, openapi, tokens
from .errors import ApiError

csrf.exempt(bp)
REVOKERS = ("township_staff", "township_approver", "admin")
MAX_JSON_DEPTH = 32  # the protocol needs 4 (envelope, ops, op, set); deeper is an attack or a bug


def json_body():
    """The request's JSON, or a 400 whose code says what was wrong with it: never a 500, which phones retry."""
    if not request.is_json:
        raise ApiError(400, "bad_json", "The request body must be JSON (Content-Type: application/json).")
    try:
        data = request.get_data(cache=True)
    except ClientDisconnected:
        raise ApiError(400, "incomplete_body", "The request body ended before its Content-Length; "
                                               "nothing was applied. Send it again.") from None
    data = decoded_body(data)
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):
        raise ApiError(400, "bad_json", "The request body is not valid JSON.") from None
    if nested_deeper(body, MAX_JSON_DEPTH):
        raise ApiError(400, "bad_json", f"The request body is nested more than {MAX_JSON_DEPTH} levels deep.")
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, "bad_json", "The request body contains text that is not valid Unicode.") from None
    return body


def decoded_body(data: bytes) -> bytes:
    """The body before its Content-Encoding: the phone gzips its sync; inflated at most to the request limit."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    try:
        return wire.decoded_body(data, request.headers.get("Content-Encoding"), limit)
    except wire.TooLarge:
        raise ApiError(413, "too_large", f"The request inflates to more than {limit // (1024 * 1024)} MB; "
                                         "nothing was applied. Send fewer ops at a time.") from None
    except wire.BadEncoding:
        raise ApiError(400, "bad_encoding", "The request body is not valid gzip; nothing was applied.") from None
    except wire.UnsupportedEncoding:
        raise ApiError(415, "unsupported_encoding", "Send the body as it is or with Content-Encoding: gzip.") from None


def nested_deeper(value, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` deep (without recursing, so any depth is safe)."""
    pending = [(value, 1)] if isinstance(value, (dict, list)) else []
    while pending:
        item, depth = pending.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def user_json(user: User) -> dict:
    return {"id": user.id, "username": user.username, "name": user.name, "role": user.role,
            "unit": {"code": user.unit.code, "name": user.unit.name, "level": user.unit.level}}


@bp.post("/auth/token")
def issue_token():
    body = json_body()
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "Send a JSON object with `username` and `password`.")
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise ApiError(400, "bad_request", "Send `username` and `password` as text.")
    user = credentials.user_for_password(username, password)
    if user is None:
        raise ApiError(401, "bad_credentials", "Wrong username or password.")
    name = body.get("device_name") if isinstance(body.get("device_name"), str) else ""
    device, token = tokens.issue(user, name or request.user_agent.string or "device")
    return jsonify({"token": token, "device": device.id, "user": user_json(user)}), 201


@bp.post("/auth/logout")
def logout():
    """End this device everywhere: its token, its page session and its remember-me cookie."""
    user, device = tokens.authenticate()
    credentials.end(device, by=user)
    return jsonify({"device": device.id, "revoked": True})


@bp.get("/me")
def me():
    user, device = tokens.authenticate_any()
    return jsonify({"user": user_json(user), "device": device.id})


@bp.post("/sync")
def sync():
    user, device = tokens.authenticate()
    return jsonify(sync_service.sync_request(user, device, json_body()))


@bp.get("/people")
def people():
    user, _ = tokens.authenticate()
    return jsonify({"people": people_of(user)})


@bp.get("/history/<rtype>/<record_id>")
def record_history(rtype, record_id):
    user, _ = tokens.authenticate()
    if not is_uuid(record_id):
        raise ApiError(400, "bad_id", "The record id must be a UUID.")
    entries = sync_service.history(user, rtype, record_id)
    if entries is None:
        raise ApiError(404, "not_found", "No such record in your scope.")
    return jsonify({"history": entries, "reviews": sync_service.thread(user, rtype, record_id)})


@bp.post("/devices/<device_id>/revoke")
def revoke_device(device_id):
    user, _ = tokens.authenticate()
    if not is_uuid(device_id):
        raise ApiError(400, "bad_id", "The device id must be a UUID.")
    revoke(user, device_id)
    return jsonify({"device": device_id, "revoked": True})


def revoke(actor: User, device_id: str) -> Device:
    """Revoke a device of a user inside the actor's scope (shared by the API and the township page)."""
    if actor.role not in REVOKERS:
        raise ApiError(403, "forbidden", "Only township staff and admins may revoke devices.")
    device = None if not is_uuid(device_id) else db.session.scalar(
        select(Device).join(User, User.id == Device.user_id)
        .where(Device.id == device_id, User.unit_id.in_(scope.unit_ids_under(actor.unit))))
    if device is None:
        raise ApiError(404, "not_found", "No such device in your scope.")
    credentials.end(device, by=actor)
    return device


@bp.get("/work-items")
def work_items():
    """The county's work-item list, searched by code or words; `status=all` adds retired and cancelled items."""
    user = tokens.authenticate_user()
    county = worklist.county_of(user.unit)
    q = request.args.get("q", "")[:100].replace("\x00", "")
    statuses = None if request.args.get("status") == "all" else ("active",)
    limit = max(1, min(request.args.get("limit", 50, type=int) or 50, 500))
    items = worklist.search(county, q, statuses, limit=limit)
    return jsonify({"county": county.code, "items": [worklist.item_json(i) for i in items]})


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(openapi.spec())
