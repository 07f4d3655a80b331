"""The sign-in between the password and the second step, kept in the (signed) Flask session.

Nobody is signed in yet: the session holds only who typed a correct password, where they were
going, whether they asked to be remembered and when, and it lapses after PENDING_SECONDS.
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import session

PENDING_KEY = "mfa_pending"
PENDING_SECONDS = 5 * 60


@dataclass(frozen=True)
class PendingSignIn:
    user_id: int
    remember: bool
    next_path: str
    started: float
    method: str = "password"

    @property
    def started_at(self) -> datetime:
        return datetime.fromtimestamp(self.started, UTC)


def begin(user_id: int, *, next_path: str | None, remember: bool, method: str = "password") -> None:
    """Forget whatever the session held and wait for the second step of this user's sign-in.

    `method` is how the first step was made: a password, or a single sign-on with SSO_TWO_STEP=1.
    """
    session.clear()
    session[PENDING_KEY] = {
        "user_id": user_id,
        "remember": bool(remember),
        "next": next_path or "",
        "started": time.time(),
        "method": method,
    }


def current() -> PendingSignIn | None:
    """The pending sign-in, or None if there is none or it has lapsed (a lapsed one is dropped)."""
    data = session.get(PENDING_KEY)
    try:
        pending = PendingSignIn(
            int(data["user_id"]),
            bool(data["remember"]),
            str(data["next"]),
            float(data["started"]),
            str(data.get("method", "password")),
        )
    except (TypeError, KeyError, ValueError):
        drop()
        return None
    if not 0 <= time.time() - pending.started <= PENDING_SECONDS:
        drop()
        return None
    return pending


def drop() -> None:
    session.pop(PENDING_KEY, None)
