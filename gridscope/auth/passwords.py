"""Password hashing (argon2id) and the strength rule for new passwords.

Parameters are OWASP's recommended argon2id minimum (m = 19 MiB, t = 2, p = 1): about 30 ms per
hash on one core, so sign-in stays well under its 300 ms p95 target on a two-core box serving
walls, while each guess still costs 19 MiB and tens of milliseconds. Hashes made with other
parameters are re-hashed at the next successful sign-in (``needs_rehash``).

Outside demo mode a weak password is refused: shorter than 10 characters, fewer than three of
(lower case, upper case, digits, other), containing the username, a common password, or one of
the published demo passwords (DEMO_PASSWORDS, printed by `make demo` and in the README).
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

# A hash verified against when the username is unknown, so timing says nothing about which
# usernames exist.
_DUMMY_HASH = _HASHER.hash("gridscope-no-such-user")

MIN_LENGTH = 10

# The demo accounts' passwords: published, so never accepted outside demo mode.
DEMO_PASSWORDS = {
    "wall": "Wall-demo-2026",
    "leader": "Leader-demo-2026",
    "analyst": "Analyst-demo-2026",
    "dispatcher": "Dispatch-demo-2026",
    "admin": "Admin-demo-2026",
}

_COMMON = {
    "password",
    "password1",
    "password123",
    "123456",
    "12345678",
    "123456789",
    "1234567890",
    "qwerty",
    "qwerty123",
    "admin",
    "admin123",
    "admin@123",
    "root",
    "111111",
    "000000",
    "abc123",
    "a123456",
    "abcd1234",
    "1qaz2wsx",
    "p@ssw0rd",
    "passw0rd",
    "iloveyou",
    "gridscope",
    "gridscope123",
    "changeme",
    "welcome1",
    "zaq12wsx",
}


class WeakPassword(ValueError):
    """A password the strength rule refuses; the message says why (zh-CN)."""


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored_hash``; a missing or corrupt hash is a
    mismatch (after the same work, so timing does not tell)."""
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _HASHER.check_needs_rehash(stored_hash)


def check_strength(password: str, username: str = "", *, demo_mode: bool = False) -> None:
    """Raise WeakPassword unless ``password`` may be set for ``username``. In demo mode only
    the demo passwords are let through unchecked."""
    if demo_mode and password in DEMO_PASSWORDS.values():
        return
    if password in DEMO_PASSWORDS.values():
        raise WeakPassword("不能使用演示账号的公开密码")
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"密码至少 {MIN_LENGTH} 位")
    lowered = password.lower()
    if lowered in _COMMON or re.sub(r"[^a-z0-9]", "", lowered) in _COMMON:
        raise WeakPassword("密码过于常见")
    if username and username.lower() in lowered:
        raise WeakPassword("密码不能包含用户名")
    classes = sum(
        bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]")
    )
    if classes < 3:
        raise WeakPassword("密码需包含大写字母、小写字母、数字、符号中的至少三类")
    if len(set(password)) < 5:
        raise WeakPassword("密码重复字符过多")
