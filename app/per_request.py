"""Values read once per request and shared by every view of it."""
from __future__ import annotations

from flask import g, has_request_context, request


def cache(name: str) -> dict:
    """A dict that lives as long as the request (outside one, as long as the call): an app context held
    open across requests, as tests do, must not carry one request's values into the next."""
    if not has_request_context():
        return {}
    owner = request._get_current_object()
    held = g.get(name)
    if held is None or held[0] is not owner:
        held = (owner, {})
        setattr(g, name, held)
    return held[1]
