"""The bytes on the wire: compressed responses, gzip request bodies inflated with a bound, UTF-8 JSON.

A village pays for every byte (DESIGN.md, "On the wire"). Responses made per request go out with brotli where
the client accepts it and gzip otherwise (Flask-Compress, at levels that cost a few milliseconds); the static
files come compressed already, once at the best level (app/assets.py). The phone gzips its sync body, which the
API inflates here without ever holding more than the request limit: a small gzip bomb costs 8 MB, not its size.
"""
from __future__ import annotations

import zlib

from flask import Flask, Response
from flask_compress import Compress

# What is worth compressing: text of every kind the app serves, and the SQLite export (mostly empty pages).
# XLSX is already a zip and PNG already deflated: compressing them again only costs time.
COMPRESSED_TYPES = [
    "text/html", "text/css", "text/javascript", "application/javascript", "application/json",
    "application/manifest+json", "image/svg+xml", "text/csv", "text/plain", "application/vnd.sqlite3",
]
# Below this (an error, an empty pull) the saving is a few dozen bytes, part of it eaten by gzip's own framing.
MIN_SIZE = 500
GZIP_ENCODINGS = ("gzip", "x-gzip")
INFLATE_CHUNK = 256 * 1024
GZIP_WBITS = 16 + zlib.MAX_WBITS


def init_app(app: Flask) -> None:
    """Bind before any other after_request hook: Flask runs them in reverse, so compression comes last."""
    app.json.ensure_ascii = False  # jsonify and |tojson: Chinese as 3 UTF-8 bytes, not a 6-byte \uXXXX
    for key, value in {
        "COMPRESS_MIMETYPES": COMPRESSED_TYPES,
        "COMPRESS_MIN_SIZE": MIN_SIZE,
        # brotli where accepted, else gzip (zstd came to browsers years later and makes these texts 12% larger).
        "COMPRESS_ALGORITHM": ["br", "gzip"],
        "COMPRESS_ALGORITHM_STREAMING": ["br", "gzip"],
        # brotli 5 is 8% smaller than the library's 4 at the same speed (3.8 ms for the shell's 83 KB); 9 and
        # above cost twenty times more.
        "COMPRESS_BR_LEVEL": 5,
        "COMPRESS_LEVEL": 6,
        "COMPRESS_REGISTER": False,
    }.items():
        app.config.setdefault(key, value)
    compress = Compress(app)

    @app.after_request
    def encode(response: Response) -> Response:
        return compressed(compress, response)


def compressed(compress: Compress, response: Response) -> Response:
    """The response encoded for the client, unless encoding would break it: a byte range counts bytes of the
    uncompressed body, and `no-transform` asks that the body reach the client as it is."""
    if response.status_code == 206 or response.cache_control.no_transform:
        return response
    return compress.after_request(response)


class BadEncoding(ValueError):
    """A body that says it is gzip and is not (corrupt, truncated)."""


class UnsupportedEncoding(ValueError):
    """A Content-Encoding other than gzip."""


class TooLarge(ValueError):
    """A body that inflates past the limit."""


def decoded_body(data: bytes, content_encoding: str | None, limit: int) -> bytes:
    """The request body as sent before its Content-Encoding (none, identity or gzip) was applied."""
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("", "identity"):
        return data
    if encoding in GZIP_ENCODINGS:
        return inflate(data, limit)
    raise UnsupportedEncoding(encoding)


def inflate(data: bytes, limit: int) -> bytes:
    """Inflate gzip (one member or several) a chunk at a time, stopping at the first byte past `limit`:
    the memory spent is `limit` whatever the body would inflate to."""
    out = bytearray()
    inflater = zlib.decompressobj(GZIP_WBITS)
    pending = data
    try:
        while True:
            chunk = inflater.decompress(pending, min(INFLATE_CHUNK, limit + 1 - len(out)))
            out += chunk
            if len(out) > limit:
                raise TooLarge(limit)
            pending = inflater.unconsumed_tail
            if inflater.eof:
                pending = inflater.unused_data
                if not pending:
                    return bytes(out)
                inflater = zlib.decompressobj(GZIP_WBITS)  # concatenated members are one gzip stream
            elif not chunk and not pending:
                raise BadEncoding("the gzip stream ends before its end")
    except zlib.error as error:
        raise BadEncoding(str(error)) from None
