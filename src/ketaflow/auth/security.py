"""Password hashing (argon2id), TOTP and random tokens. No database access here."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pyotp
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256

# OWASP Password Storage Cheat Sheet minimum for argon2id: m=19 MiB, t=2, p=1. We use exactly
# that floor: each sign-in costs ~20 MiB and tens of milliseconds on a small clinic server.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)

# A fixed hash verified when the account does not exist, so timing does not reveal accounts.
_DUMMY_HASH = _HASHER.hash("not-a-real-password-" + secrets.token_hex(8))

TOTP_ISSUER = "ketaflow"
TOTP_STEP_SECONDS = 30


def password_problem(password: str) -> str | None:
    """Why a new password is unacceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"password must be at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"password must be at most {MAX_PASSWORD_LENGTH} characters"
    if password.strip() != password or not password.strip():
        return "password must not start or end with spaces"
    return None


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def hasher_parameters() -> tuple[int, int, int]:
    """(memory KiB, iterations, parallelism), for tests that check the OWASP floor."""
    params = _HASHER
    return params.memory_cost, params.time_cost, params.parallelism


def new_totp_secret() -> str:
    return pyotp.random_base32(length=32)


def totp_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=TOTP_ISSUER)


def matching_totp_step(secret: str, code: str, *, at: float | None = None) -> int | None:
    """The time step a 6-digit code belongs to (allowing one step of clock drift), or None."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    now = time.time() if at is None else at
    totp = pyotp.TOTP(secret)
    current = int(now // TOTP_STEP_SECONDS)
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.at(step * TOTP_STEP_SECONDS), code):
            return step
    return None


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
