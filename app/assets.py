"""Versioned static URLs, so the service worker can precache the shell exactly."""
import hashlib
from pathlib import Path

from flask import url_for


def _hashes(static: Path) -> dict[str, str]:
    return {
        path.relative_to(static).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()[:10]
        for path in sorted(static.rglob("*"))
        if path.is_file() and path.name != "sw.js"
    }


def init_app(app) -> None:
    hashes = _hashes(Path(app.static_folder))
    app.extensions["asset_hashes"] = hashes
    app.extensions["asset_version"] = hashlib.sha256("".join(f"{k}{v}" for k, v in hashes.items()).encode()).hexdigest()[:12]

    @app.template_global()
    def asset(filename: str) -> str:
        return url_for("static", filename=filename, v=app.extensions["asset_hashes"].get(filename, "0"))
