"""A client's public key as pasted by an administrator (a JWK, a JWKS of one key, or a PEM)
-> the public JWK to store and the one algorithm it signs with. No database, no web."""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt import PyJWK
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from jwt.exceptions import PyJWTError

# SMART Backend Services: servers SHALL support RS384 and ES384 (and nothing weaker is taken).
RS384, ES384 = "RS384", "ES384"
SIGNING_ALGORITHMS = (RS384, ES384)
MIN_RSA_BITS = 2048


class KeyProblem(ValueError):
    """A pasted key that cannot be used; the message says why, never quoting the key."""


def looks_private(text: str) -> bool:
    """Whether pasted text may hold a private key (a page must not show it back)."""
    return "PRIVATE KEY" in text or '"d"' in text.replace(" ", "")


def public_jwk(text: str) -> tuple[dict[str, Any], str]:
    """(the public JWK to store, its algorithm). Raises KeyProblem."""
    text = text.strip()
    if not text:
        raise KeyProblem("paste the client's public key (a JWK or a PEM)")
    if "PRIVATE KEY" in text:
        raise KeyProblem("that is a private key: paste the public key only, and keep the "
                         "private key with the client")
    key = _from_pem(text) if text.startswith("-----BEGIN") else _from_jwk(text)
    kid = _kid(text) if not text.startswith("-----BEGIN") else None
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise KeyProblem(f"an RSA key needs at least {MIN_RSA_BITS} bits "
                             f"(this one has {key.key_size})")
        jwk, algorithm = RSAAlgorithm.to_jwk(key, as_dict=True), RS384
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP384R1):
            raise KeyProblem("an EC key must be on curve P-384 (for ES384)")
        jwk, algorithm = ECAlgorithm.to_jwk(key, as_dict=True), ES384
    else:
        raise KeyProblem("only RSA (RS384) and EC P-384 (ES384) keys are accepted")
    if kid:
        jwk["kid"] = kid
    jwk["alg"] = algorithm
    return jwk, algorithm


def verifying_key(jwk: dict[str, Any], algorithm: str) -> Any:
    """The stored JWK as a key PyJWT verifies with."""
    return PyJWK(jwk, algorithm=algorithm).key


def _from_pem(text: str) -> object:
    try:
        return load_pem_public_key(text.encode())
    except (ValueError, TypeError):
        raise KeyProblem("the PEM could not be read as a public key") from None


def _jwk_object(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        raise KeyProblem("not a JWK (JSON) nor a PEM (-----BEGIN PUBLIC KEY-----)") from None
    if isinstance(data, dict) and isinstance(data.get("keys"), list):
        if len(data["keys"]) != 1:
            raise KeyProblem("a key set must hold exactly one key here")
        data = data["keys"][0]
    if not isinstance(data, dict):
        raise KeyProblem("a JWK is a JSON object")
    if "d" in data:
        raise KeyProblem("that JWK holds a private key: paste the public key only")
    return data


def _from_jwk(text: str) -> object:
    data = _jwk_object(text)
    if data.get("kty") not in {"RSA", "EC"}:
        raise KeyProblem("only RSA (RS384) and EC P-384 (ES384) keys are accepted")
    try:
        return PyJWK(data, algorithm=RS384 if data["kty"] == "RSA" else ES384).key
    except (PyJWTError, ValueError, TypeError, KeyError):
        raise KeyProblem("the JWK could not be read as a public key") from None


def _kid(text: str) -> str | None:
    kid = _jwk_object(text).get("kid")
    return kid[:100] if isinstance(kid, str) and kid else None
