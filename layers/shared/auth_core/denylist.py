"""The access-token denylist in the tokens table: `JTI#<jti>`, one item per access token ended before its `exp`.

Its items are written together with the session they end (auth_core.sessions) and read by the authorizer in the same
round trip as the session and the user, so this module only names them.
"""

from __future__ import annotations

from auth_core.dynamo import Item, n, s


def denylist_key(jti: str) -> dict[str, dict[str, str]]:
    return {"pk": s(f"JTI#{jti}")}


def denylist_item(jti: str, *, until: float) -> Item:
    """The entry that refuses this token; DynamoDB's TTL may delete it only once no leeway can accept the token."""
    return {**denylist_key(jti), "expires_at": n(int(until) + 1)}
