"""What a password must not be: short, the account's own email, or a common password.

One rule for every way a password is set (``POST /users``, ``PATCH /users/{id}``,
``POST /auth/password``, a reset link, ``switchboard create-user``). A refusal is
``422 weak_password`` with a ``reason`` the UI translates: ``too_short``,
``contains_email`` or ``common``.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

from hub.services.errors import Invalid

MIN_LENGTH = 10
# Local parts shorter than this are only refused when they are the whole password:
# "ana" inside "bananas-and-tea" is not a guessable hint.
_MIN_PART = 4
_LEET = str.maketrans(
    {"@": "a", "4": "a", "0": "o", "3": "e", "1": "i", "!": "i", "$": "s", "5": "s", "7": "t"}
)
# "Password2024!", "dragon_123": the base word people pad to pass a length rule.
_PADDING = re.compile(r"[\d\W_]+$")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list (hub/data/common-passwords.txt), lower-case, read once."""
    text = resources.files("hub").joinpath("data/common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def _candidates(password: str) -> set[str]:
    """The forms of ``password`` compared with the list."""
    lowered = password.strip().lower()
    stripped = _PADDING.sub("", lowered)
    forms = {lowered, stripped, lowered.translate(_LEET), stripped.translate(_LEET)}
    return {f for f in forms if f}


def is_common(password: str) -> bool:
    return not _candidates(password).isdisjoint(common_passwords())


def _email_parts(email: str) -> set[str]:
    email = email.strip().lower()
    local = email.partition("@")[0]
    parts = {email, local} | set(re.split(r"[._+\-]+", local))
    return {p for p in parts if p}


def contains_email(password: str, email: str) -> bool:
    lowered = password.lower()
    for part in _email_parts(email):
        if lowered == part or (len(part) >= _MIN_PART and part in lowered):
            return True
    return False


def check_password(password: str, email: str) -> None:
    """Raise ``Invalid(code="weak_password")`` with a ``reason`` when ``password`` is weak."""
    if len(password) < MIN_LENGTH:
        raise Invalid(
            f"password must be at least {MIN_LENGTH} characters",
            code="weak_password",
            extra={"reason": "too_short"},
        )
    if contains_email(password, email):
        raise Invalid(
            "password must not contain your email address or its name part",
            code="weak_password",
            extra={"reason": "contains_email"},
        )
    if is_common(password):
        raise Invalid(
            "this password is on the list of the most common passwords; choose another",
            code="weak_password",
            extra={"reason": "common"},
        )
