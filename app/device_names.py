"""A device as a person recognises it: "Android 手机 · Chrome", not "Linux x86_64 Chrome/156".

The name stored is what the login sent (the browser's user agent, or an API client's own name); it is read here
when shown, so the words follow the reader's language and older logins read as well as new ones.
"""
from __future__ import annotations

import re

from flask_babel import gettext as _

BROWSERS = [  # the first that matches names the browser: in-app and vendor browsers before the engines they wrap
    (r"MicroMessenger", lambda: _("WeChat")),
    (r"DingTalk", lambda: _("DingTalk")),
    (r"HuaweiBrowser", lambda: _("Huawei Browser")),
    (r"UCBrowser", lambda: _("UC Browser")),
    (r"MiuiBrowser|XiaoMi", lambda: _("Xiaomi Browser")),
    (r"SamsungBrowser", lambda: "Samsung Internet"),
    (r"QQBrowser", lambda: _("QQ Browser")),
    (r"EdgA?/|Edg/", lambda: "Edge"),
    (r"Firefox/", lambda: "Firefox"),
    (r"Chrome/|CriOS/|Chromium/", lambda: "Chrome"),
    (r"Safari/", lambda: "Safari"),
]
SYSTEMS = [
    (r"HarmonyOS|OpenHarmony", lambda: _("HarmonyOS phone")),
    (r"Android.*Mobile|Android(?!.*Tablet)", lambda: _("Android phone")),
    (r"Android", lambda: _("Android tablet")),
    (r"iPhone", lambda: "iPhone"),
    (r"iPad", lambda: "iPad"),
    (r"Windows", lambda: _("Windows computer")),
    (r"Macintosh|Mac OS X", lambda: _("Mac")),
    (r"CrOS", lambda: _("Chromebook")),
    (r"Linux|X11", lambda: _("Linux computer")),
]


def _first(table, text: str) -> str | None:
    return next((label() for pattern, label in table if re.search(pattern, text)), None)


def friendly(stored: str) -> str:
    """The device's name for people; a name that is no browser's (an API client's own) is shown as it is."""
    system, browser = _first(SYSTEMS, stored or ""), _first(BROWSERS, stored or "")
    if not system and not browser:
        return stored or _("Unknown device")
    return " · ".join(part for part in (system, browser) if part)
