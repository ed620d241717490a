"""The browser demo the local API serves: the page at / and its assets under /app/.

A small client of the token flow in plain JavaScript, no build step and no dependency: register, login, the dashboard
(/me), the users list for admins, logout and logout-all, the forgotten-password and verification links (the page is
also served at their paths), a password change and the list of sessions. The access token lives in the page's memory
only; the refresh token lives in the HttpOnly cookie, which only works when the page and the API share an origin (the
README's "The browser demo" says how to host it in production). The page loads nothing from elsewhere, and its
Content-Security-Policy allows only its own script, stylesheet and API calls.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css"}

type Answer = tuple[int, list[tuple[str, str]], bytes]
type Page = Callable[[Any], Answer]


def _file_page(path: Path) -> Page:
    def page(_request: Any) -> Answer:
        headers = [
            ("Content-Type", TYPES.get(path.suffix, "application/octet-stream")),
            ("Content-Security-Policy", PAGE_CSP),
            ("Cache-Control", "no-store"),
        ]
        return 200, headers, path.read_bytes()

    return page


def web_pages() -> dict[tuple[str, str], Page]:
    """(method, path) -> page, for the local server's extra routes; the emailed links open the page itself."""
    index = _file_page(HERE / "index.html")
    return {
        ("GET", "/"): index,
        ("GET", "/reset-password"): index,
        ("GET", "/verify-email"): index,
        ("GET", "/app/app.js"): _file_page(HERE / "app.js"),
        ("GET", "/app/style.css"): _file_page(HERE / "style.css"),
    }
