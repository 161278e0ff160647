"""People's accounts of one instance: who they are, what they may do, and how they prove it.

An account has a full name, a position (chức vụ), one or more roles and their scope: the agency of
the directory for the agency role, which head for the head role. Passwords are hashed with Argon2id
(argon2-cffi, the library's recommended parameters) and checked against a policy; repeated failures
lock the account for a while. An operator can disable an account or give it a temporary password
that must be changed at the next sign-in. Citizens have no account.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.events import Head

Role = Literal["front", "secretary", "head", "agency", "operator"]
ROLES: dict[str, str] = {
    "front": "Cán bộ Ủy ban MTTQ",
    "secretary": "Thư ký hội nghị",
    "head": "Người đứng đầu",
    "agency": "Cơ quan chịu trách nhiệm",
    "operator": "Quản trị vận hành",
}
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,39}$")
MIN_PASSWORD = 10
# Passwords people choose first (and the dictionary attacks try first).
COMMON = {
    "1234567890",
    "12345678910",
    "0123456789",
    "matkhau123",
    "matkhau1234",
    "password123",
    "password1234",
    "qwertyuiop",
    "abc1234567",
    "1111111111",
    "vietnam1234",
    "hanoi12345",
    "doithoai123",
    "admin12345",
}
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)

_hasher = PasswordHasher()


class AccountError(ValueError):
    """Something about an account a person can fix: which field, what was wrong, in Vietnamese."""

    def __init__(self, field: str, message_vi: str) -> None:
        super().__init__(f"{field}: {message_vi}")
        self.field = field
        self.message_vi = message_vi


def check_password(password: str, username: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError("password", f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự.")
    if len(password) > 128:
        raise AccountError("password", "Mật khẩu dài tối đa 128 ký tự.")
    folded = unicodedata.normalize("NFC", password).casefold()
    if folded in COMMON or len(set(folded)) < 4:
        raise AccountError("password", "Mật khẩu quá dễ đoán; hãy dùng một cụm từ dài hơn, khó đoán hơn.")
    if username and username.casefold() in folded:
        raise AccountError("password", "Mật khẩu không được chứa tên đăng nhập.")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@dataclass
class Account:
    username: str
    full_name: str
    position: str | None
    roles: list[str]
    agency_id: str | None = None
    head: str | None = None
    email: str | None = None
    oidc_subject: str | None = None
    password_hash: str | None = None
    active: bool = True
    must_change_password: bool = False
    failures: int = 0
    locked_until: datetime | None = None
    created_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        if not USERNAME.match(self.username):
            raise AccountError(
                "username", "Tên đăng nhập 3–40 ký tự: chữ thường không dấu, số, dấu chấm, gạch ngang, gạch dưới."
            )
        if not self.full_name.strip():
            raise AccountError("full_name", "Cần họ và tên.")
        unknown = [r for r in self.roles if r not in ROLES]
        if not self.roles or unknown:
            raise AccountError("roles", "Chọn ít nhất một vai trò trong danh sách.")
        if "agency" in self.roles and not self.agency_id:
            raise AccountError("agency_id", "Người của cơ quan chịu trách nhiệm cần chọn cơ quan.")
        if "head" in self.roles and self.head not in {h.value for h in Head}:
            raise AccountError("head", "Người đứng đầu cần chọn: Bí thư, Chủ tịch HĐND hay Chủ tịch UBND.")

    def document(self) -> dict[str, Any]:
        return {
            "_id": self.username,
            "full_name": self.full_name.strip(),
            "position": (self.position or "").strip() or None,
            "roles": self.roles,
            "agency_id": self.agency_id if "agency" in self.roles else None,
            "head": self.head if "head" in self.roles else None,
            "email": self.email,
            "oidc_subject": self.oidc_subject,
            "password_hash": self.password_hash,
            "active": self.active,
            "must_change_password": self.must_change_password,
            "failures": self.failures,
            "locked_until": self.locked_until,
            "created_at": self.created_at,
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Account:
        known = {k: doc.get(k) for k in cls.__dataclass_fields__ if k not in ("username", "extra")}
        known["roles"] = list(doc.get("roles") or [])
        known["failures"] = int(doc.get("failures") or 0)
        known["active"] = bool(doc.get("active", True))
        known["must_change_password"] = bool(doc.get("must_change_password"))
        return cls(username=doc["_id"], **known)

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


class SignInRefused(Exception):
    def __init__(
        self, reason: Literal["unknown", "wrong_password", "locked", "disabled"], until: datetime | None = None
    ):
        super().__init__(reason)
        self.reason = reason
        self.until = until


class Accounts:
    def __init__(self, db: AsyncDatabase) -> None:
        self.collection = db["accounts"]

    async def create_indexes(self) -> None:
        await self.collection.create_index([("oidc_subject", ASCENDING)], sparse=True)
        await self.collection.create_index([("email", ASCENDING)], sparse=True)

    async def add(self, account: Account, password: str | None, now: datetime) -> Account:
        account.check()
        if password is not None:
            check_password(password, account.username)
            account.password_hash = hash_password(password)
        account.created_at = now
        try:
            await self.collection.insert_one(account.document())
        except DuplicateKeyError as exc:
            raise AccountError("username", f"Tên đăng nhập {account.username} đã có người dùng.") from exc
        return account

    async def get(self, username: str) -> Account | None:
        doc = await self.collection.find_one({"_id": username})
        return Account.from_document(doc) if doc else None

    async def by_oidc(self, subject: str, email: str | None) -> Account | None:
        doc = await self.collection.find_one({"oidc_subject": subject})
        if doc is None and email:
            doc = await self.collection.find_one({"email": email.casefold(), "oidc_subject": None})
        return Account.from_document(doc) if doc else None

    async def all(self) -> list[Account]:
        return [Account.from_document(d) for d in await self.collection.find({}).sort("_id", 1).to_list(None)]

    async def update(self, username: str, changes: dict[str, Any]) -> bool:
        result = await self.collection.update_one({"_id": username}, {"$set": changes})
        return result.matched_count == 1

    async def set_password(self, username: str, password: str, *, must_change: bool) -> None:
        check_password(password, username)
        await self.update(
            username,
            {
                "password_hash": hash_password(password),
                "must_change_password": must_change,
                "failures": 0,
                "locked_until": None,
            },
        )

    async def sign_in(self, username: str, password: str, now: datetime) -> Account:
        """The account if the password is right; counts failures and locks after MAX_FAILURES."""
        account = await self.get(username.strip().casefold())
        if account is None or account.password_hash is None:
            _hasher.hash(password)  # the same work as a real check: no timing tells names apart
            raise SignInRefused("unknown")
        if not account.active:
            raise SignInRefused("disabled")
        if account.locked(now):
            raise SignInRefused("locked", account.locked_until)
        try:
            _hasher.verify(account.password_hash, password)
        except (VerificationError, InvalidHashError):
            failures = account.failures + 1
            changes: dict[str, Any] = {"failures": failures}
            if failures >= MAX_FAILURES:
                changes |= {"failures": 0, "locked_until": now + LOCKOUT}
            await self.update(account.username, changes)
            if failures >= MAX_FAILURES:
                raise SignInRefused("locked", now + LOCKOUT) from None
            raise SignInRefused("wrong_password") from None
        changes = {"failures": 0, "locked_until": None, "last_sign_in": now}
        if _hasher.check_needs_rehash(account.password_hash):
            changes["password_hash"] = hash_password(password)
        await self.update(account.username, changes)
        return account
