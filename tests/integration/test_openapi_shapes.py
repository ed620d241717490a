"""The OpenAPI document's shapes are the ones the service hands out: what a client got from the API, sent back, is
valid for the document (infra/openapi.py states the shapes the models can't)."""

from __future__ import annotations

import json
import re
from pathlib import Path

DOCUMENT = json.loads((Path(__file__).resolve().parents[2] / "infra" / "openapi.json").read_text())


def _refresh_token_schemas() -> list[dict]:
    body = DOCUMENT["components"]["schemas"]["RefreshRequest"]["properties"]["refresh_token"]["anyOf"][0]
    cookies = [
        parameter["schema"]
        for path in ("/auth/refresh", "/auth/logout")
        for parameter in DOCUMENT["paths"][path]["post"]["parameters"]
        if parameter["in"] == "cookie"
    ]
    return [body, *cookies]


def test_an_issued_refresh_token_matches_the_documented_shape(api, signed_in):
    session = signed_in()
    refreshed = api.call("POST", "/auth/refresh", body={"refresh_token": session["refresh_token"]})
    [cookie] = [value for value in refreshed.cookies if value.startswith("refresh_token=")]

    for token in (session["refresh_token"], refreshed.body["refresh_token"], cookie.split(";")[0].partition("=")[2]):
        for schema in _refresh_token_schemas():
            # JSON Schema patterns are ECMA-262; this one reads the same in Python.
            assert re.search(schema["pattern"], token), (schema["pattern"], token)
            assert len(token) <= schema["maxLength"]


def test_a_next_cursor_is_valid_for_the_cursor_parameter(api, signed_in):
    admin = signed_in("root@example.com", role="admin")
    signed_in("bob@example.com")
    [schema] = [
        parameter["schema"]
        for parameter in DOCUMENT["paths"]["/admin/users"]["get"]["parameters"]
        if parameter["name"] == "cursor"
    ]

    page = api.call("GET", "/admin/users", token=admin["access_token"], query={"limit": "1"}).body
    cursor = page["next_cursor"]

    string = next(option for option in schema.get("anyOf", [schema]) if option.get("type") == "string")
    assert string.get("minLength", 0) <= len(cursor) <= string.get("maxLength", len(cursor))
    assert api.call("GET", "/admin/users", token=admin["access_token"], query={"cursor": cursor}).status == 200
