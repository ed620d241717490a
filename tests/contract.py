"""What CONTRACT.md promises, written out here for the tests to check against (not imported from the code under
test, so a wrong value in the code can't make its own test pass)."""

SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

# The two /.well-known/ documents may be cached publicly for a few minutes instead of no-store (CONTRACT.md "Headers").
PUBLIC_DOCUMENT_CACHE_CONTROL = "public, max-age=300"


def expected_security_headers(path: str, status: int) -> dict[str, str]:
    """The contract's headers for a response to `path`: a published document's 200 is the one cacheable answer."""
    if path.startswith("/.well-known/") and status == 200:
        return SECURITY_HEADERS | {"Cache-Control": PUBLIC_DOCUMENT_CACHE_CONTROL}
    return SECURITY_HEADERS
