"""The API docs the local API serves: /openapi.json (the committed document) and Swagger UI at /docs.

Swagger UI's files come from the npm package swagger-ui-dist (infra/package.json, installed by `make node`); the page
loads nothing from elsewhere, and its Content-Security-Policy allows only its own resources.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from infra.openapi import DOCUMENT_PATH

HERE = Path(__file__).resolve().parent
SWAGGER_UI = HERE.parent / "node_modules" / "swagger-ui-dist"
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".json": "application/json"}

type Page = Callable[[Any], tuple[int, list[tuple[str, str]], bytes]]


def _file_page(path: Path, *, csp: str = PAGE_CSP) -> Page:
    def page(_request: Any) -> tuple[int, list[tuple[str, str]], bytes]:
        if not path.is_file():
            message = b"The API docs need Swagger UI's files: run `make node` (or `make run`, which does)."
            return 503, [("Content-Type", "text/plain; charset=utf-8")], message
        headers = [
            ("Content-Type", TYPES.get(path.suffix, "application/octet-stream")),
            ("Content-Security-Policy", csp),
        ]
        return 200, headers, path.read_bytes()

    return page


def docs_pages() -> dict[tuple[str, str], Page]:
    """(method, path) -> page, for the local server's extra routes."""
    return {
        ("GET", "/openapi.json"): _file_page(DOCUMENT_PATH, csp="default-src 'none'; frame-ancestors 'none'"),
        ("GET", "/docs"): _file_page(HERE / "index.html"),
        ("GET", "/docs/init.js"): _file_page(HERE / "init.js"),
        ("GET", "/docs/swagger-ui.css"): _file_page(SWAGGER_UI / "swagger-ui.css"),
        ("GET", "/docs/swagger-ui-bundle.js"): _file_page(SWAGGER_UI / "swagger-ui-bundle.js"),
    }
