"""The local accounts file: who may sign in to the dashboard, with what role.

Used when the operator has not configured an identity provider (Streamlit's ``st.login``);
with one, the file still gives signed-in e-mail addresses their role. Passwords are kept
as salted scrypt hashes, never as text. The file is JSON, written under a lock by an atomic
rename, and managed with ``python -m prodsim users add|remove|list|set-role``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from filelock import FileLock

from prodsim.access import Person, check_role, require
from prodsim.errors import BadInputError
from prodsim.workspace import atomic_write_json, default_root, now_iso

ACCOUNTS_ENV = "PRODSIM_ACCOUNTS"
DEFAULT_ROLE_ENV = "PRODSIM_DEFAULT_ROLE"  # the role of someone the identity provider signs in but the file does not list
SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}  # OWASP's scrypt minimum; ~50 ms per check on one core
MIN_PASSWORD = 10


def accounts_path() -> Path:
    """``$PRODSIM_ACCOUNTS``, else ``.accounts.json`` in the workspaces folder (set by the operator, never by a page)."""
    configured = os.environ.get(ACCOUNTS_ENV)
    return Path(configured).resolve() if configured else default_root() / ".accounts.json"


def _read(path: Path) -> dict:
    if not path.is_file():
        return {"users": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise BadInputError(f"The accounts file {path} cannot be read ({err}); fix or remove it.") from err
    if not isinstance(data, dict) or not isinstance(data.get("users"), dict):
        raise BadInputError(f"The accounts file {path} is not a prodsim accounts file (no \"users\" object).")
    return data


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, **SCRYPT, dklen=32)


def _encode(password: str) -> str:
    salt = secrets.token_bytes(16)
    return "scrypt$" + "$".join(base64.b64encode(part).decode("ascii") for part in (salt, _hash(password, salt)))


def _matches(password: str, stored: str) -> bool:
    try:
        kind, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        return hmac.compare_digest(_hash(password, base64.b64decode(salt)), base64.b64decode(digest))
    except ValueError:
        return False


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 80 or any(ch.isspace() or not ch.isprintable() for ch in name):
        raise BadInputError("A user name is 1 to 80 characters without spaces (an e-mail address works).")
    return name


class Accounts:
    """The accounts file at ``path`` (default :func:`accounts_path`)."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else accounts_path()

    def _change(self, change) -> None:
        """One read-modify-write under the file's lock (two admins adding users at once both land); admins only."""
        require("admin", "managing accounts")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.path) + ".lock"):
            data = _read(self.path)
            change(data["users"])
            atomic_write_json(self.path, data)
        os.chmod(self.path, 0o600)  # hashes are not for other local users to read

    def configured(self) -> bool:
        """True when the file lists at least one person (the dashboard then asks everyone to sign in)."""
        return bool(_read(self.path)["users"])

    def users(self) -> list[dict]:
        """name, role, added (never the hashes), by name."""
        users = _read(self.path)["users"]
        return [{"name": name, "role": entry["role"], "added": entry.get("added")} for name, entry in sorted(users.items())]

    def add(self, name: str, password: str, role: str = "viewer") -> dict:
        """Adds a person (refused if the name is taken). Returns their listing."""
        name, role = _clean_name(name), check_role(role)
        if len(password or "") < MIN_PASSWORD:
            raise BadInputError(f"A password needs at least {MIN_PASSWORD} characters.")
        entry = {"role": role, "password": _encode(password), "added": now_iso()}

        def change(users):
            if name in users:
                raise BadInputError(f"There is already a user called {name}; use set-role or remove them first.")
            users[name] = entry
        self._change(change)
        return {"name": name, "role": role, "added": entry["added"]}

    def remove(self, name: str) -> str:
        """Removes a person (their past decisions keep their name); returns the name."""
        def change(users):
            if users.pop(name, None) is None:
                raise BadInputError(f"There is no user called {name}.")
        self._change(change)
        return name

    def set_role(self, name: str, role: str) -> str:
        """Gives a person another role; returns it."""
        check_role(role)

        def change(users):
            if name not in users:
                raise BadInputError(f"There is no user called {name}.")
            users[name]["role"] = role
        self._change(change)
        return role

    def sign_in(self, name: str, password: str) -> Person | None:
        """The person if the name and password match, else None (the same answer for an unknown name)."""
        entry = _read(self.path)["users"].get((name or "").strip())
        stored = entry["password"] if entry else _encode("an unknown name costs as much as a known one")
        return Person(name.strip(), entry["role"]) if _matches(password or "", stored) and entry else None

    def role_of(self, name: str) -> str:
        """The listed role of a person the identity provider signed in; else ``$PRODSIM_DEFAULT_ROLE`` (viewer)."""
        entry = _read(self.path)["users"].get(name)
        return entry["role"] if entry else check_role(os.environ.get(DEFAULT_ROLE_ENV, "viewer"))
