"""Response headers (a Content-Security-Policy with no inline script, HSTS behind HTTPS, no-store on private
pages), the proxy in front, and the answer to an expired form."""
from urllib.parse import urlsplit

from flask import flash, jsonify, redirect, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.middleware.proxy_fix import ProxyFix

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "worker-src 'self'",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


# Pages and answers about people and their records: never kept by a browser or a proxy (a shared township PC).
PRIVATE_BLUEPRINTS = ("auth", "township", "reports", "worklist", "api")
HSTS = "max-age=31536000"


def wants_json() -> bool:
    """A fetch asking for JSON (the phone's login page), not a browser navigation."""
    return request.accept_mimetypes.best == "application/json"


def init_app(app) -> None:
    hops = int(app.config.get("PROXY_HOPS") or 0)
    if hops:  # behind a reverse proxy that terminates HTTPS: trust its X-Forwarded-* for that many hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops)

    @app.errorhandler(CSRFError)
    def form_expired(error):
        """A form posted without a valid token: say so and show the form again, unchanged."""
        if wants_json():
            return jsonify({"error": {"code": "bad_request", "message": _("The form expired. Please try again.")}}), 400
        flash(_("The form expired or came from elsewhere. Please try again."), "error")
        back = request.referrer or ""
        same_site = back.startswith(request.host_url)
        return redirect(back if same_site else request.path if request.method == "GET" else "/")

    @app.after_request
    def headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # The policies govern documents and workers only: on every module, stylesheet and JSON answer they
        # would cost a phone on 2G some 500 bytes each for nothing.
        if response.mimetype == "text/html" or request.path == "/sw.js":
            response.headers.setdefault("Content-Security-Policy", CSP)
        if response.mimetype == "text/html":
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("Permissions-Policy", "camera=(self), geolocation=(self), microphone=()")
        if app.config.get("HTTPS"):
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if request.blueprint in PRIVATE_BLUEPRINTS:
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def safe_next(target: str | None, fallback: str) -> str:
    """A local path to go back to, or `fallback`: never another site (no scheme, host or control characters)."""
    if not target or any(ord(ch) < 32 or ch == "\\" for ch in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target
