"""Response headers: a Content-Security-Policy with no inline script, and friends."""
from urllib.parse import urlsplit

from flask import flash, redirect, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

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


def init_app(app) -> None:
    @app.errorhandler(CSRFError)
    def form_expired(error):
        """A form posted without a valid token: say so and show the form again, unchanged."""
        flash(_("The form expired or came from elsewhere. Please try again."), "error")
        back = request.referrer or ""
        same_site = back.startswith(request.host_url)
        return redirect(back if same_site else request.path if request.method == "GET" else "/")

    @app.after_request
    def headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Permissions-Policy", "camera=(self), geolocation=(self), microphone=()")
        return response


def safe_next(target: str | None, fallback: str) -> str:
    """A local path to go back to, or `fallback`: never another site (no scheme, host or control characters)."""
    if not target or any(ord(ch) < 32 or ch == "\\" for ch in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target
