"""The dashboard as a team tool: sign-in, the signed-in person's role, decisions made with what the page showed.

How people sign in is the operator's choice, never a page's:
- an identity provider in ``.streamlit/secrets.toml`` (``[auth]``): Streamlit's ``st.login`` (OIDC); the
  accounts file then only gives e-mail addresses their role;
- else a local accounts file (``python -m prodsim users add``): a sign-in form;
- else, on a server that listens only on this computer, no sign-in: the one local user is an admin;
- else (a network address and nobody to sign in) the app refuses to serve, and says what to do.
Read-only demo mode (``PRODSIM_READ_ONLY=1``) needs no sign-in: everyone looks, nobody changes anything.
"""

from __future__ import annotations

import logging
import time

import streamlit as st

from prodsim import access, api
from prodsim.accounts import Accounts
from prodsim.display import literal
from prodsim.errors import ProdsimError

log = logging.getLogger("prodsim.app")
PERSON_KEY = "signed_in_person"
FEEDBACK_KEY = "decision_feedback"  # (kind, message) left by a decision callback for the page to show
UNDO_CONFLICT_KEY = "undo_conflict"  # (which store, message) while an undo waits for "undo anyway"
LOCAL_ADDRESSES = ("localhost", "127.0.0.1", "::1")


def _session_person() -> access.Person | None:
    """The signed-in person of the browser session running this code (the library's resolver)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx() is None:  # a thread of no session: the library treats it as nobody
        return None
    return st.session_state.get(PERSON_KEY)


access.install_resolver(_session_person)


def _identity_provider() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def listens_locally() -> bool:
    """True when the server accepts connections from this computer only (``server.address``)."""
    address = st.get_option("server.address") or ""
    return address in LOCAL_ADDRESSES or address.startswith("127.")


def mode() -> str:
    """'provider', 'accounts', 'demo' (read-only, no sign-in), 'single' (local, no sign-in) or 'refused'."""
    if _identity_provider():
        return "provider"
    if Accounts().configured():
        return "accounts"
    if api.read_only():
        return "demo"
    return "single" if listens_locally() else "refused"


def signed_in() -> access.Person | None:
    """The person of this browser session, or None until they sign in (draws nothing)."""
    current = mode()
    if current == "single":
        st.session_state[PERSON_KEY] = access.local_operator()
    elif current == "demo":
        st.session_state[PERSON_KEY] = access.Person("visitor", "viewer")
    elif current == "refused":
        st.session_state.pop(PERSON_KEY, None)
    elif current == "provider":
        if getattr(st.user, "is_logged_in", False):  # (absent where no auth runtime is set up, as under AppTest)
            name = str(st.user.get("email") or st.user.get("name") or st.user.get("sub"))
            st.session_state[PERSON_KEY] = access.Person(name, Accounts().role_of(name))
        else:
            st.session_state.pop(PERSON_KEY, None)
    return st.session_state.get(PERSON_KEY)


def sign_in_page() -> None:
    """The sign-in page (or why this server serves nothing yet); stops the run."""
    current = mode()
    if current == "refused":
        _refusal()
    elif current == "provider":
        st.title("Sign in to prodsim")
        st.write("prodsim is shared by your team; sign in with your work account.")
        st.button("Sign in", type="primary", key="sign_in_provider", on_click=st.login)
    else:
        _sign_in_form()
    st.stop()


def _refusal() -> None:
    st.title("prodsim cannot start on this address yet")
    st.error(f"This server listens on '{st.get_option('server.address') or 'every network address'}', where colleagues can reach "
             "it, but nobody has an account, so anyone could change or delete every catalog. Nothing is served until either:\n\n"
             "- accounts exist: `python -m prodsim users add NAME --role admin` (then reviewers and viewers), or an identity "
             "provider is set in `.streamlit/secrets.toml` (`[auth]`, see Streamlit's `st.login`); or\n"
             "- the server listens on this computer only: `make run`, or `--server.address localhost`; or\n"
             "- it is a read-only demo: `PRODSIM_READ_ONLY=1`.")


def _sign_in_form() -> None:
    st.title("Sign in to prodsim")
    st.write("prodsim is shared by your team. Ask an admin for an account if you have none.")
    with st.form("sign_in"):
        name = st.text_input("User name", key="sign_in_name")
        password = st.text_input("Password", type="password", key="sign_in_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        found = Accounts().sign_in(name, password)
        if found is None:
            time.sleep(1.0)  # slows guessing; the session waits, not the server
            st.error("That user name and password do not match.")
        else:
            log.info("signed in: %s (%s)", found.name, found.role)
            st.session_state[PERSON_KEY] = found
            st.rerun()


def sidebar_identity() -> None:
    """Who is signed in and what they may do, with Sign out; or why there is no sign-in."""
    current, signed = mode(), st.session_state.get(PERSON_KEY)
    if current == "single":
        st.caption(f"Single-user mode: no sign-in, because no accounts exist and this server listens only on this computer "
                   f"(you are {signed.name}, admin). `python -m prodsim users add` sets up a team.")
        return
    if current == "demo":
        return
    st.caption(f"Signed in as **{literal(signed.name)}** · {signed.role} ({access.ROLE_HELP[signed.role]})")
    if st.button("Sign out", key="sign_out", type="tertiary"):
        st.session_state.pop(PERSON_KEY, None)
        if current == "provider":
            st.logout()
        st.rerun()


def allowed(role: str) -> bool:
    """True when the signed-in person may make changes that need ``role`` (and the app is not read-only)."""
    return not api.read_only() and access.current().can(role)


def needs(role: str) -> str | None:
    """A button's help when the person's role does not allow it (None when it does)."""
    return None if allowed(role) else ("Switched off in read-only mode." if api.read_only() else f"Needs the {role} role.")


# --- decisions, made with what the page showed ---------------------------------------------------
class Widget:
    """An argument of a decision taken from a widget when the button is clicked (what was typed with the click)."""

    def __init__(self, key: str, transform=None):
        self.key, self.transform = key, transform

    def value(self):
        value = st.session_state.get(self.key)
        return self.transform(value) if self.transform else value


def _decide(function, args: tuple, kwargs: dict, done: str | None) -> None:
    """A decision button's callback: runs before the page's next run with the page's own arguments."""
    from prodsim.review import UndoConflict

    try:
        args = tuple(a.value() if isinstance(a, Widget) else a for a in args)
        result = function(*args, **kwargs)
    except UndoConflict as conflict:
        st.session_state[UNDO_CONFLICT_KEY] = (function, str(conflict))
        return
    except ProdsimError as err:
        st.session_state[FEEDBACK_KEY] = ("error", str(err))
        return
    except Exception:  # the page never shows a trace; the log keeps it
        log.exception("unexpected error in %s", getattr(function, "__name__", function))
        st.session_state[FEEDBACK_KEY] = ("error", "Something went wrong on our side; the details are in the server log. Nothing was changed.")
        return
    if done:
        st.session_state[FEEDBACK_KEY] = ("success", literal(done.format(result=result, args=args)) if result is not None
                                          else "Nothing of yours to undo or redo.")


def decision_button(container, label: str, key: str, role: str, function, *args, done: str | None = None,
                    disabled: bool = False, **kwargs) -> None:
    """A button that runs ``function(*args, **kwargs)`` with the arguments of the run that drew it.

    The click acts on what the person saw (the products, the pair, the step of the decisions), not on
    what a colleague's decision has made of the page since; :class:`Widget` arguments are read at the click
    (a name typed just before it); ``done`` ("Undone: {result}", "… to '{args[1]}'") is shown once it landed.
    """
    button_options = {k: kwargs.pop(k) for k in ("type", "help") if k in kwargs}
    container.button(label, key=key, disabled=disabled or not allowed(role), help=button_options.pop("help", None) or needs(role),
                     **on_click(function, *args, done=done, **kwargs), **button_options)


def on_click(function, *args, done: str | None = None, **kwargs) -> dict:
    """The ``on_click``/``args`` of a decision button (see :func:`decision_button`), e.g. for a form's submit button."""
    return {"on_click": _decide, "args": (function, args, kwargs, done)}


def decision_feedback() -> None:
    """Shows what the last decision callback left: a refusal, a confirmation, or an undo that asks first."""
    kind, message = st.session_state.pop(FEEDBACK_KEY, (None, None))
    if kind == "error":
        st.error(message)
    elif kind == "success":
        st.success(message)
    if UNDO_CONFLICT_KEY in st.session_state:
        undo, message = st.session_state[UNDO_CONFLICT_KEY]
        with st.container(border=True):
            st.warning(message)
            anyway, leave = st.columns(2)
            if anyway.button("Undo anyway", key="undo_conflict_anyway", type="primary"):
                del st.session_state[UNDO_CONFLICT_KEY]
                _decide(undo, (), {"force": True}, "Undone: {result}")
                st.rerun()
            if leave.button("Leave it", key="undo_conflict_leave"):
                del st.session_state[UNDO_CONFLICT_KEY]
                st.rerun()


def colleagues_since(store, workspace: api.Workspace) -> int:
    """The step of the category decisions this page is drawn at; says what colleagues decided since the last draw."""
    key = f"review_seen_{workspace.slug}"
    step = store.step()
    seen = st.session_state.get(key, step)
    st.session_state[key] = step
    if step > seen:
        news = store.changes_since(seen, access.current().name)
        if len(news):
            lines = [f"{row.actor}: {'undid ' if row.undone else ''}{row.summary}" for row in news.head(5).itertuples()]
            st.info(f"{len(news):,} new decision{'s' if len(news) > 1 else ''} by colleagues since this page was drawn: "
                    + literal("; ".join(lines)) + ("…" if len(news) > 5 else ""), icon=":material/group:")
    _colleague_notice(store, step)
    return step


@st.fragment(run_every=10.0)
def _colleague_notice(store, drawn: int) -> None:
    """Every 10 s: how many decisions colleagues made since the page was drawn, with Refresh."""
    if not store.workspace.path.is_dir() or store.step() == drawn:  # (an admin may have deleted the workspace)
        return
    news = store.changes_since(drawn, access.current().name)
    if len(news):
        line = st.columns([4, 1])
        line[0].caption(f"{len(news):,} new decision{'s' if len(news) > 1 else ''} by colleagues since this page was drawn.")
        if line[1].button("Refresh", key="colleagues_refresh", type="tertiary"):
            st.rerun(scope="app")


def people_panel() -> None:
    """Admins manage who may sign in (the same file and checks as ``python -m prodsim users``)."""
    if mode() not in ("accounts", "provider") or not allowed("admin"):
        return
    accounts = Accounts()
    with st.expander("People who may sign in"):
        st.dataframe(accounts.users(), hide_index=True, width="stretch", key="people_list")
        with st.form("people_add", clear_on_submit=True):
            name, secret, role = st.columns([2, 2, 1])
            name.text_input("User name (an e-mail address for the identity provider)", key="people_name")
            secret.text_input("Password (at least 10 characters)", type="password", key="people_password")
            role.selectbox("Role", access.ROLES, key="people_role")
            st.form_submit_button("Add", **on_click(accounts.add, Widget("people_name"), Widget("people_password"),
                                                    Widget("people_role"), done="Added {args[0]}."))
        names = [u["name"] for u in accounts.users()]
        if names:
            who, role, change, remove = st.columns([2, 1, 1, 1])
            who.selectbox("Person", names, key="people_who")
            role.selectbox("New role", access.ROLES, key="people_new_role")
            change.button("Set role", key="people_set_role", **on_click(accounts.set_role, Widget("people_who"), Widget("people_new_role"),
                                                                        done="{args[0]} is now {args[1]}."))
            remove.button("Remove", key="people_remove", **on_click(accounts.remove, Widget("people_who"),
                                                                   done="Removed {args[0]}; their decisions keep their name."))
