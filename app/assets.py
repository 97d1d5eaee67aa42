"""Static files: versioned URLs, so the service worker can precache the shell exactly and browsers keep them for
good, and each file compressed once, at the highest setting.

A URL that names the current content (`/static/…?v=<its hash>`, `/js/<version>/…`) never changes meaning, so it
is cached a year without revalidation (`immutable`); any other answer is revalidated every time. Responses made
per request are compressed by Flask-Compress at a speed-minded level (app/wire.py); a file is the same for every
phone, so it is compressed once per process at brotli's and gzip's best (about a tenth smaller than brotli 5,
like a web server's precompressed `.br` files) and served from memory, with an ETag of its content.
"""
from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path

import brotli
from flask import Response, abort, current_app, request, url_for

YEAR = 31536000
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "application/manifest+json", "image/svg+xml")
ENCODE = {"br": lambda data: brotli.compress(data, quality=11), "gzip": lambda data: gzip.compress(data, 9, mtime=0)}


def _hashes(static: Path) -> dict[str, str]:
    return {
        path.relative_to(static).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()[:10]
        for path in sorted(static.rglob("*"))
        if path.is_file() and path.name != "sw.js"
    }


@dataclass
class StaticFile:
    """One file as read from disk (its size and time tell when it changed), with its compressed forms."""
    stamp: tuple[int, int]
    body: bytes
    etag: str
    encoded: dict[str, bytes] = field(default_factory=dict)


def immutable(response: Response) -> Response:
    response.cache_control.no_cache = None
    response.cache_control.public = True
    response.cache_control.max_age = YEAR
    response.cache_control.immutable = True
    return response


def init_app(app) -> None:
    hashes = _hashes(Path(app.static_folder))
    app.extensions["asset_hashes"] = hashes
    app.extensions["asset_version"] = hashlib.sha256("".join(f"{k}{v}" for k, v in hashes.items()).encode()).hexdigest()[:12]
    app.extensions["static_files"] = {}
    app.view_functions["static"] = static

    @app.template_global()
    def asset(filename: str) -> str:
        return url_for("static", filename=filename, v=app.extensions["asset_hashes"].get(filename, "0"))


def static(filename: str) -> Response:
    """`?v=` names the file's content only when it is the file's current hash; with an old or made-up one the
    file is today's, revalidated every time, so it is never kept for good under another release's name."""
    response = send_static(filename)
    if request.args.get("v") == current_app.extensions["asset_hashes"].get(filename):
        immutable(response)
    return response


def send_static(filename: str, mimetype: str | None = None) -> Response:
    """A file of the app's static folder (only those there at start: no path is looked up on disk from the
    URL), in the client's preferred encoding, answering If-None-Match with 304."""
    if filename not in current_app.extensions["asset_hashes"]:
        abort(404)
    mimetype = mimetype or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    kept = _read(filename)
    response = Response(kept.body, mimetype=mimetype)
    response.cache_control.no_cache = True
    if mimetype.startswith(COMPRESSIBLE):
        response.vary.add("Accept-Encoding")
        encoding = request.accept_encodings.best_match(list(ENCODE))
        if encoding:
            if encoding not in kept.encoded:
                kept.encoded[encoding] = ENCODE[encoding](kept.body)
            response.set_data(kept.encoded[encoding])
            response.headers["Content-Encoding"] = encoding
            response.set_etag(f"{kept.etag}-{encoding}")
            return response.make_conditional(request)
    response.set_etag(kept.etag)
    return response.make_conditional(request)


def _read(filename: str) -> StaticFile:
    path = Path(current_app.static_folder) / filename
    stat = path.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    files = current_app.extensions["static_files"]
    kept = files.get(filename)
    if kept is None or kept.stamp != stamp:  # an edit while the server runs (development) is served at once
        body = path.read_bytes()
        kept = files[filename] = StaticFile(stamp, body, hashlib.sha256(body).hexdigest()[:16])
    return kept
