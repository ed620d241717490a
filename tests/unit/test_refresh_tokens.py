"""auth_core.refresh_tokens and auth_core.devices: opaque credentials only this service reads."""

from __future__ import annotations

import pytest

from auth_core.devices import DeviceCredentials
from auth_core.errors import InvalidRequestError, InvalidTokenError
from auth_core.keys import KeyRing, SigningKey
from auth_core.refresh_tokens import RefreshTokenCodec, token_hash

OLD = SigningKey(kid="k1", secret=b"o" * 40)
NEW = SigningKey(kid="k2", secret=b"n" * 40)
OTHER = SigningKey(kid="k3", secret=b"x" * 40)


class Keys:
    def __init__(self, current: SigningKey, previous: SigningKey | None = None) -> None:
        self.ring_ = KeyRing(current=current, previous=previous)

    def ring(self) -> KeyRing:
        return self.ring_


def codec(current: SigningKey = OLD, previous: SigningKey | None = None) -> RefreshTokenCodec:
    return RefreshTokenCodec(Keys(current, previous))  # type: ignore[arg-type]


def test_first_token_parses_back_to_its_session_and_email() -> None:
    token = codec().first(session_id="S" * 22, email="ada@example.com")

    parsed = codec().parse(token.value)

    assert (parsed.session_id, parsed.email, parsed.hash) == ("S" * 22, "ada@example.com", token_hash(token.value))


def test_first_tokens_of_two_sessions_differ_even_for_one_user() -> None:
    first = codec().first(session_id="S" * 22, email="ada@example.com")
    second = codec().first(session_id="S" * 22, email="ada@example.com")

    assert first.value != second.value


def test_successor_is_the_same_for_the_same_predecessor_and_parses() -> None:
    token = codec().first(session_id="S" * 22, email="ada@example.com")

    successor = codec().successor(token)

    assert successor == codec().successor(token)  # a replay gets byte-identical successor
    assert successor.value != token.value
    assert codec().parse(successor.value).session_id == token.session_id


def test_replayed_successor_found_across_a_key_rotation() -> None:
    token = codec(OLD).first(session_id="S" * 22, email="ada@example.com")
    live = codec(OLD).successor(token)

    rotated = codec(NEW, previous=OLD)

    assert rotated.replayed_successor(rotated.parse(token.value), live.hash) == live


def test_replayed_successor_of_another_token_is_none() -> None:
    token = codec().first(session_id="S" * 22, email="ada@example.com")
    other = codec().first(session_id="S" * 22, email="ada@example.com")

    assert codec().replayed_successor(token, codec().successor(other).hash) is None


def test_token_made_with_a_key_no_longer_held_is_invalid() -> None:
    token = codec(OLD).first(session_id="S" * 22, email="ada@example.com")

    with pytest.raises(InvalidTokenError):
        codec(NEW, previous=OTHER).parse(token.value)


def other_first(part: str) -> str:
    """`part` with another first character (replacing it with "A" changed nothing one time in 64)."""
    return ("B" if part.startswith("A") else "A") + part[1:]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda v: v[:-1] + ("A" if v[-1] != "A" else "B"),
        lambda v: v.replace("rt1.S", "rt1.T", 1),
        lambda v: ".".join([*v.split(".")[:3], other_first(v.split(".")[3]), v.split(".")[4]]),
    ],
    ids=["tag", "session", "secret"],
)
def test_any_changed_character_is_invalid(mutate) -> None:
    token = codec().first(session_id="S" * 22, email="ada@example.com")

    with pytest.raises(InvalidTokenError):
        codec().parse(mutate(token.value))


@pytest.mark.parametrize(
    "value",
    ["", "rt1", "rt1....", "eyJ.eyJ.sig", "rt2." + "S" * 22 + ".YQ." + "A" * 43 + "." + "A" * 22, "x" * 5000],
)
def test_not_shaped_like_a_refresh_token_is_a_malformed_request(value: str) -> None:
    with pytest.raises(InvalidRequestError):
        codec().parse(value)


def devices(current: SigningKey = OLD, previous: SigningKey | None = None) -> DeviceCredentials:
    return DeviceCredentials(Keys(current, previous))  # type: ignore[arg-type]


def test_device_credential_is_bound_to_its_account() -> None:
    value = devices().issue(email="ada@example.com", presented=None)
    device_id = value.split(".")[1]

    assert devices().device_of(value, email="ada@example.com") == device_id
    assert devices().device_of(value, email="bob@example.com") is None
    assert devices().device_of(value.replace(device_id, "D" * 22), email="ada@example.com") is None


def test_device_credential_keeps_every_account_signed_in_on_the_device() -> None:
    """A second account in the same browser must not take the first one's known device away."""
    value = devices().issue(email="ada@example.com", presented=None)
    value = devices().issue(email="ada.work@example.com", presented=value)

    assert devices().device_of(value, email="ada@example.com") == value.split(".")[1]
    assert devices().device_of(value, email="ada.work@example.com") == value.split(".")[1]
    assert devices().device_of(value, email="bob@example.com") is None


def test_device_credential_remembers_the_last_five_accounts() -> None:
    value = None
    for index in range(7):
        value = devices().issue(email=f"user{index}@example.com", presented=value)

    assert value is not None
    remembered = [index for index in range(7) if devices().device_of(value, email=f"user{index}@example.com")]
    assert remembered == [2, 3, 4, 5, 6]


def test_device_credential_survives_one_rotation_not_two() -> None:
    value = devices(OLD).issue(email="ada@example.com", presented=None)

    assert devices(NEW, OLD).device_of(value, email="ada@example.com") == value.split(".")[1]
    assert devices(OTHER, NEW).device_of(value, email="ada@example.com") is None
