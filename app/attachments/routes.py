"""HEAD, PATCH and GET /api/attachments/<id>: where an upload stands, its next chunk, the photo itself.

See docs/sync-protocol.md, "Photos: the upload protocol". The record comes first, as an op of the sync; these
routes only carry its bytes, to and from users whose scope has the record.
"""
from __future__ import annotations

import re

from flask import Response, request
from werkzeug.exceptions import ClientDisconnected

from sync.envelope import is_uuid
from sync.types import PHOTO_MAX_BYTES, TYPES

from .. import scope
from ..api import tokens
from ..api.errors import ApiError, api_error, error_response, unhandled
from ..extensions import csrf, db
from ..models import Attachment
from . import bp, upload
from .storage import storage

TUS_VERSION = "1.0.0"
CHUNK_TYPE = "application/offset+octet-stream"
OFFSET = re.compile(r"[0-9]{1,10}")
READ_PIECE = 64 * 1024

csrf.exempt(bp)  # PATCH takes a bearer token only, never the page's cookie
bp.register_error_handler(ApiError, api_error)
bp.register_error_handler(Exception, unhandled)


@bp.after_request
def tus_headers(response: Response) -> Response:
    response.headers["Tus-Resumable"] = TUS_VERSION
    response.headers.setdefault("Cache-Control", "no-store")  # residents' photos: never kept by a shared PC
    return response


@bp.route("/<record_id>", methods=["GET", "HEAD"])
def attachment(record_id):
    row = _record(tokens.authenticate_user(), record_id)
    if request.method == "HEAD":
        return _standing(200, row)
    return _photo(row, request.args.get("size"))


@bp.patch("/<record_id>")
def append(record_id):
    user, _ = tokens.authenticate()
    version = request.headers.get("Tus-Resumable")
    if version is not None and version != TUS_VERSION:
        response = error_response(412, "tus_version", f"Only tus {TUS_VERSION} is spoken here.")
        response.headers["Tus-Version"] = TUS_VERSION
        return response
    row = _record(user, record_id)
    if user.role not in TYPES["attachment"].writers:
        raise ApiError(403, "forbidden", "Photos are uploaded from the village's phones.")
    if row.completed_at is not None:  # a replay of a finished upload: nothing to do, nothing changes
        return _standing(204, row)
    if request.mimetype != CHUNK_TYPE:
        raise ApiError(415, "unsupported_media_type", f"Send the bytes as {CHUNK_TYPE}.")
    offset_header = request.headers.get("Upload-Offset", "")
    if not OFFSET.fullmatch(offset_header):
        raise ApiError(400, "bad_offset", "Upload-Offset must be the number of bytes already sent.")
    offset = int(offset_header)
    if offset != row.received:
        return _refused(409, "wrong_offset", f"The upload stands at byte {row.received}, not {offset}.",
                        row.received)
    room = row.bytes - offset
    chunk, whole = (None, False) if (request.content_length or 0) > room else _body(room)
    if chunk is None:  # nothing of it is read past the declared size, nor kept
        return _refused(413, "too_large", f"The photo was declared {row.bytes} bytes; only {room} more fit.",
                        offset)
    try:
        row = upload.append(row.id, offset, chunk)
    except upload.Refused as refused:
        return _refused(refused.status, refused.code, refused.message, refused.offset)
    if not whole:
        raise ApiError(400, "incomplete_body", "The chunk ended early; what arrived is kept. Ask HEAD where to "
                                               "go on from.")
    return _standing(204, row)


def _record(user, record_id: str) -> Attachment:
    """The attachment, if the user's scope has it and it was not removed: else the same 404 as for an id nobody
    knows (a removed photo's bytes are gone; its record says `removed`)."""
    row = None
    if is_uuid(record_id):
        row = db.session.scalar(scope.scoped(Attachment, user).where(Attachment.id == record_id.lower(),
                                                                     Attachment.deleted.is_(False),
                                                                     Attachment.removed.is_(False)))
    if row is None:
        raise ApiError(404, "not_found", "No such photo in your scope.")
    return row


def _body(room: int) -> tuple[bytes | None, bool]:
    """The chunk (None when it runs past `room`), and whether it arrived whole: the bytes of a connection
    that broke mid-chunk are kept, so the phone goes on from there rather than from the chunk's start."""
    request.max_content_length = PHOTO_MAX_BYTES
    pieces, size = [], 0
    try:
        while piece := request.stream.read(min(READ_PIECE, room + 1 - size)):
            pieces.append(piece)
            size += len(piece)
            if size > room:
                return None, False
    except ClientDisconnected:
        return b"".join(pieces), False
    return b"".join(pieces), True


def _standing(status: int, row: Attachment) -> Response:
    response = Response(status=status)
    response.headers["Upload-Offset"] = str(row.bytes if row.completed_at else row.received)
    response.headers["Upload-Length"] = str(row.bytes)
    return response


def _refused(status: int, code: str, message: str, offset: int) -> Response:
    response = error_response(status, code, message)
    response.headers["Upload-Offset"] = str(offset)
    return response


def _photo(row: Attachment, size: str | None) -> Response:
    if size not in (None, "thumb"):
        raise ApiError(400, "bad_size", "size may only be `thumb`.")
    if row.completed_at is None:
        raise ApiError(404, "not_uploaded", "The photo's bytes have not all arrived yet.")
    key, mime = (row.thumb_key, "image/jpeg") if size == "thumb" else (row.stored_key, row.mime)
    response = Response(storage().read(key), mimetype=mime)
    response.headers["Content-Disposition"] = "inline"
    if size is None:
        response.headers["ETag"] = f'"{row.stored_sha256}"'
    return response
