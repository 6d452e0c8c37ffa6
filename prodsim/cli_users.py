"""``python -m prodsim users``: the local accounts file of the dashboard (add, remove, list, set-role)."""

from __future__ import annotations


def _users(args) -> dict:
    """The local accounts file: add, remove, list, set-role (passwords from --password-stdin or a prompt)."""
    import getpass
    import sys

    from prodsim.accounts import Accounts
    from prodsim.errors import BadInputError

    accounts = Accounts(args.accounts)
    if args.action == "list":
        return {"accounts": str(accounts.path), "users": accounts.users()}
    if not args.name:
        raise BadInputError(f"users {args.action} needs a user name.")
    if args.action == "add":
        password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass(f"Password for {args.name}: ")
        return {"accounts": str(accounts.path), "added": accounts.add(args.name, password, args.role or "viewer")}
    if args.action == "remove":
        accounts.remove(args.name)
        return {"accounts": str(accounts.path), "removed": args.name}
    if not args.role:
        raise BadInputError("users set-role needs --role viewer, reviewer or admin.")
    return {"accounts": str(accounts.path), "name": args.name, "role": accounts.set_role(args.name, args.role)}


def add_users_verb(verbs) -> None:
    """Adds the ``users`` verb to the CLI's sub-parsers."""
    users = verbs.add_parser("users", help="who may sign in to the dashboard: add, remove, list, set-role")
    users.add_argument("action", choices=["add", "remove", "list", "set-role"])
    users.add_argument("name", nargs="?", help="user name (an e-mail address for people signed in by the identity provider)")
    users.add_argument("--role", choices=["viewer", "reviewer", "admin"], help="viewer: looks and exports; reviewer: "
                       "category and duplicate decisions; admin: uploads, models, settings, rename/delete (default viewer)")
    users.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    users.add_argument("--accounts", help="the accounts file (default: $PRODSIM_ACCOUNTS, else .accounts.json in the workspaces folder)")
    users.set_defaults(run=_users)
