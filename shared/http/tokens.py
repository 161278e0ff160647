"""Short-lived signed tokens by which the console vouches for the person behind a request.

The console (which owns accounts and sessions) signs, for each call it makes to a service, a JWT
naming the person, their roles and scope and the instance, valid for two minutes; the services
verify it with the console's public key (EdDSA, Ed25519: a service can check a token but never
make one). Machines keep using scoped API keys.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ALGORITHM = "EdDSA"
LIFETIME = timedelta(minutes=2)
LEEWAY = timedelta(seconds=30)  # clocks of the console and the services may differ a little


def issuer(instance: str) -> str:
    return f"doithoai-console:{instance}"


def audience(instance: str) -> str:
    return f"doithoai:{instance}"


@dataclass(frozen=True)
class Person:
    """Who the console says is calling: an account of the instance, or the citizens' portal."""

    username: str
    name: str
    roles: tuple[str, ...]
    position: str | None = None
    agency_id: str | None = None
    head: str | None = None
    address: str | None = None  # the person's own address, as the console saw it
    extra: dict[str, str] = field(default_factory=dict)


class InvalidToken(Exception):
    pass


def new_key_pair() -> tuple[str, str]:
    """A fresh Ed25519 key pair as PEM text: (private, public)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def sign(person: Person, *, private_key: str, instance: str, now: datetime) -> str:
    claims = {
        "iss": issuer(instance),
        "aud": audience(instance),
        "sub": person.username,
        "name": person.name,
        "roles": list(person.roles),
        "iat": now,
        "nbf": now - LEEWAY,
        "exp": now + LIFETIME,
        "jti": uuid.uuid4().hex,
    }
    for claim, value in (
        ("position", person.position),
        ("agency_id", person.agency_id),
        ("head", person.head),
        ("ip", person.address),
    ):
        if value:
            claims[claim] = value
    return jwt.encode(claims, private_key, algorithm=ALGORITHM)


def verify(token: str, *, public_keys: list[str], instance: str) -> Person:
    """The person a token names, if one of `public_keys` signed it for this instance and it is current."""
    last: Exception | None = None
    for key in public_keys:
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=audience(instance),
                issuer=issuer(instance),
                leeway=LEEWAY,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.InvalidSignatureError as exc:
            last = exc
            continue  # another configured key (a rotation) may have signed it
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        roles = claims.get("roles")
        if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
            raise InvalidToken("the token names no roles")
        return Person(
            username=str(claims["sub"]),
            name=str(claims.get("name") or claims["sub"]),
            roles=tuple(roles),
            position=claims.get("position"),
            agency_id=claims.get("agency_id"),
            head=claims.get("head"),
            address=claims.get("ip"),
        )
    raise InvalidToken(f"no configured key verifies the signature ({last})")
