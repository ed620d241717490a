"""`make run`'s settings for mail (infra/backend.py): links to the local demo page, a sender the embedded SES has
verified, and sign-in without a verified email unless the environment asks for it."""

from __future__ import annotations

from infra.backend import apply_local_defaults
from infra.cfn import load_template


def test_local_defaults_point_links_at_the_local_page_and_let_unverified_accounts_in() -> None:
    env: dict[str, str] = {}

    apply_local_defaults(load_template(), port=3123, env=env)

    assert env["APP_BASE_URL"] == "http://127.0.0.1:3123"
    assert env["REQUIRE_VERIFIED_EMAIL"] == "false"
    assert env["SENDER_EMAIL"]  # the template's default sender, which the embedded backend verifies


def test_the_environment_wins_over_the_local_defaults() -> None:
    env = {"REQUIRE_VERIFIED_EMAIL": "true", "SENDER_EMAIL": "me@example.org", "APP_BASE_URL": "http://localhost:3000"}

    applied = apply_local_defaults(load_template(), port=3123, env=env)

    assert not {"REQUIRE_VERIFIED_EMAIL", "SENDER_EMAIL", "APP_BASE_URL"} & set(applied)
    assert (env["REQUIRE_VERIFIED_EMAIL"], env["SENDER_EMAIL"]) == ("true", "me@example.org")
