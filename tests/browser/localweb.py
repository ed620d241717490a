"""What the browser tests and their local API share: its settings and the accounts the tests use."""

from __future__ import annotations

ACCESS_TOKEN_TTL_SECONDS = 3
ADMIN_EMAIL = "browser-admin@example.com"
ADMIN_PASSWORD = "Adm1n-correct-horse-battery"
PASSWORD = "correct horse battery staple 42"
