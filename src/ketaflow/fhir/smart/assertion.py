"""The client's side of SMART Backend Services, for trying a client out: a new key pair, and a
signed client assertion (RFC 7523) for the token endpoint. No database, no web.

A clinic's integrator normally signs assertions in their own system; `ketaflow fhir assertion`
and the demo client (`ketaflow demo seed`) use this so the flow can be tried with curl."""

from __future__ import annotations

import secrets

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ketaflow.fhir.smart.keys import ES384, RS384, KeyProblem

# Below the server's 5-minute limit on exp, leaving room for clock skew.
ASSERTION_LIFETIME_S = 240


def new_private_key_pem() -> str:
    """A fresh EC P-384 private key (signs ES384), as unencrypted PKCS#8 PEM."""
    key = ec.generate_private_key(ec.SECP384R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def public_key_pem(private_pem: str) -> str:
    """The public half of a private key PEM, as the server registers it."""
    key = _private_key(private_pem)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def sign_assertion(private_pem: str, *, client_id: str, token_url: str, now_s: int) -> str:
    """A client assertion: iss = sub = client_id, aud = the token endpoint, a fresh jti,
    expiring ASSERTION_LIFETIME_S after `now_s` (seconds since the epoch)."""
    key = _private_key(private_pem)
    algorithm = RS384 if isinstance(key, rsa.RSAPrivateKey) else ES384
    claims = {"iss": client_id, "sub": client_id, "aud": token_url,
              "exp": now_s + ASSERTION_LIFETIME_S, "jti": secrets.token_urlsafe(16)}
    return jwt.encode(claims, key, algorithm=algorithm)


def _private_key(private_pem: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(private_pem.encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError):
        raise KeyProblem("not an unencrypted PEM private key") from None
    if isinstance(key, rsa.RSAPrivateKey) or (
            isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP384R1)):
        return key
    raise KeyProblem("only RSA (RS384) and EC P-384 (ES384) private keys sign assertions")
