"""The committed OpenAPI document is the one the code generates, and it documents every route of the template."""

from __future__ import annotations

import json
import re

import pytest
from email_validator import SPECIAL_USE_DOMAIN_NAMES

from auth_core.models import normalize_email
from infra.openapi import DOCUMENT_PATH, build_document, protected_routes, render


def test_openapi_committed_document_matches_code_regenerate_with_make_openapi():
    assert DOCUMENT_PATH.read_text() == render(), "infra/openapi.json is stale: run `make openapi` and commit it"


def test_openapi_documents_every_template_route_with_its_security():
    document = build_document()
    documented = {(method, path) for path, operations in document["paths"].items() for method in operations}

    assert protected_routes() <= documented
    assert len(documented) == 18  # the API routes and the two /.well-known/ documents
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            is_protected = (method, path) in protected_routes()
            assert ("security" in operation) == is_protected, (method, path)
            assert {"500", "503"} <= set(operation["responses"])
            assert "422" not in operation["responses"]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_openapi_models_never_expose_internal_fields():
    schemas = json.dumps(build_document()["components"]["schemas"])

    for internal in ("password_hash", "tokens_valid_after", "family_id", "pk"):
        assert internal not in schemas


def test_openapi_every_email_field_states_the_domains_the_api_refuses():
    document = build_document()
    routes = ("/auth/register", "/auth/login", "/auth/password/forgot", "/auth/verify-email/resend")
    references = [
        document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        for path in routes
    ]
    fields = [
        document["components"]["schemas"][reference.rpartition("/")[2]]["properties"]["email"]
        for reference in references
    ]
    assert all(field == fields[0] for field in fields)  # one description for all four
    refused = re.compile(fields[0]["not"]["pattern"])

    for name in SPECIAL_USE_DOMAIN_NAMES:
        assert f".{name}" in fields[0]["description"]
        for address in (f"ada@mail.{name}", f"Ada@Mail.{name.upper()}"):
            assert refused.search(address), address
            with pytest.raises(ValueError, match="must be a valid email address"):
                normalize_email(address)
    assert not refused.search("ada@mail.example.com")
    assert normalize_email("Ada@Mail.Example.com") == "ada@mail.example.com"
