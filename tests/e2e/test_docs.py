"""The local API serves its OpenAPI document and Swagger UI, each with a CSP that allows only its own resources."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest

from infra.docs import SWAGGER_UI
from infra.openapi import DOCUMENT_PATH


def get(base_url: str, path: str) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_openapi_json_is_the_committed_document(base_url):
    status, headers, body = get(base_url, "/openapi.json")

    assert status == 200
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body) == json.loads(DOCUMENT_PATH.read_text())
    assert headers["x-content-type-options"] == "nosniff"


@pytest.mark.skipif(not SWAGGER_UI.is_dir(), reason="Swagger UI's files come with `make node`")
@pytest.mark.parametrize("path", ["/docs", "/docs/init.js", "/docs/swagger-ui.css", "/docs/swagger-ui-bundle.js"])
def test_docs_page_and_its_assets_are_served_locally_with_a_self_only_csp(base_url, path):
    status, headers, body = get(base_url, path)

    assert status == 200
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "http" not in csp  # nothing from elsewhere
    assert headers["x-frame-options"] == "DENY"
    if path == "/docs":
        assert b"/openapi.json" not in body and b"/docs/init.js" in body
        assert b"<script>" not in body  # no inline script
