"""Who is acting, and what their role lets them change.

Roles, each including the one before: viewer (looks and exports), reviewer (category and
duplicate decisions), admin (uploads, models, settings, renaming and deleting workspaces).

Every write path of the library already calls :func:`prodsim.workspace.check_writable`;
it asks :func:`require` here, so a page that forgets to disable a button still cannot
change anything. The acting person comes from, in order: :func:`acting_as` (jobs and tests),
a resolver the dashboard installs (it reads the signed-in person of the browser session
that runs the code), else the local operator (the CLI and library use, as an admin).
"""

from __future__ import annotations

import contextvars
import getpass
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

from prodsim.errors import BadInputError

ROLES = ("viewer", "reviewer", "admin")
ROLE_HELP = {"viewer": "looks and exports", "reviewer": "category and duplicate decisions",
             "admin": "uploads, models, settings, renaming and deleting workspaces"}


class PermissionRefused(BadInputError):
    """The signed-in person's role does not allow this change (nothing was changed)."""


@dataclass(frozen=True)
class Person:
    """A person acting on workspaces: the name recorded on their decisions, and their role."""

    name: str
    role: str

    def can(self, role: str) -> bool:
        """True when this person's role includes ``role``."""
        return ROLES.index(self.role) >= ROLES.index(role)


def local_operator() -> Person:
    """Whoever runs the CLI or the single-user app: an admin under their login name."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        name = "local"
    return Person(name, "admin")


# Someone the dashboard cannot place (code running outside any browser session's run): may look only.
NOBODY = Person("nobody", "viewer")

_acting: contextvars.ContextVar[Person | None] = contextvars.ContextVar("prodsim_acting", default=None)
_resolver: Callable[[], Person | None] | None = None


def install_resolver(resolver: Callable[[], Person | None]) -> None:
    """Lets the dashboard say who runs the current code (its browser session's signed-in person).

    Once installed, code the resolver cannot place acts as :data:`NOBODY`, never as an admin.
    """
    global _resolver
    _resolver = resolver


def current() -> Person:
    """The person the current code acts for."""
    person = _acting.get()
    if person is not None:
        return person
    if _resolver is not None:
        return _resolver() or NOBODY
    return local_operator()


@contextmanager
def acting_as(person: Person) -> Iterator[Person]:
    """Runs the block as ``person`` (a background job keeps the person who started it)."""
    token = _acting.set(person)
    try:
        yield person
    finally:
        _acting.reset(token)


def require(role: str, action: str) -> Person:
    """The current person, if their role includes ``role``.

    Raises:
        PermissionRefused: it does not; the message names the person, their role and the role needed.
    """
    person = current()
    if not person.can(role):
        raise PermissionRefused(f"Signed in as {person.name} ({person.role}): {action} needs the {role} role "
                                f"({ROLE_HELP[role]}); nothing was changed. An admin can change roles.")
    return person


def check_role(role: str) -> str:
    """``role`` if it is one of ROLES.

    Raises:
        BadInputError: it is not.
    """
    if role not in ROLES:
        raise BadInputError(f"'{role}' is not a role; use one of {', '.join(ROLES)}.")
    return role
