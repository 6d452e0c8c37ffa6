"""Teams through Streamlit's AppTest: accounts and roles, network addresses without accounts, an identity provider."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from apptest import TIMEOUT, NavigationOnlyPagesManager, texts
from conftest import REPO
from prodsim import api


@pytest.fixture
def team_accounts(tmp_path, monkeypatch):
    """An accounts file with a viewer, a reviewer and an admin, as the operator made it."""
    from prodsim.accounts import ACCOUNTS_ENV, Accounts

    accounts = Accounts(tmp_path / "accounts.json")
    for name, role in (("vic", "viewer"), ("ann", "reviewer"), ("ada", "admin")):
        accounts.add(name, f"{name}-password-123", role)
    monkeypatch.setenv(ACCOUNTS_ENV, str(accounts.path))
    return accounts


def sign_in(app: AppTest, name: str, password: str) -> AppTest:
    app.text_input(key="sign_in_name").set_value(name)
    app.text_input(key="sign_in_password").set_value(password)
    return next(b for b in app.button if b.label == "Sign in").click().run()


def test_with_accounts_everyone_signs_in_and_sees_only_what_their_role_may_change(team_accounts, root, monkeypatch):
    monkeypatch.setenv("PRODSIM_PREPARE_DEMO", "0")
    monkeypatch.setattr("streamlit.testing.v1.app_test.PagesManager", NavigationOnlyPagesManager)
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
    assert app.title[0].value == "Sign in to prodsim" and not app.selectbox  # nothing of any workspace before sign-in
    sign_in(app, "vic", "not-her-password")
    assert app.title[0].value == "Sign in to prodsim" and "do not match" in texts(app)
    sign_in(app, "vic", "vic-password-123")
    assert not app.exception and app.title[0].value == "Demo catalog"
    assert "Signed in as vic · viewer" in texts(app).replace("**", "")
    assert app.button(key="home_save_settings").disabled and not [b for b in app.button if b.key == "sidebar_rename"]
    assert not [e for e in app.expander if e.label == "People who may sign in"]  # admins only
    app.button(key="sign_out").click().run()
    assert app.title[0].value == "Sign in to prodsim"
    sign_in(app, "ada", "ada-password-123")
    assert not app.button(key="home_save_settings").disabled and app.button(key="sidebar_rename")
    app.text_input(key="sidebar_rename_text").set_value("Ada's demo")
    app.button(key="sidebar_rename").click().run()
    assert api.list_workspaces(root)[0].history()[0]["actor"] == "ada"  # the page's change carries her name
    app.text_input(key="people_name").set_value("ben")
    app.text_input(key="people_password").set_value("ben-password-123")
    app.selectbox(key="people_role").set_value("reviewer")
    next(b for b in app.button if b.label == "Add").click().run()
    assert "Added ben." in texts(app) and team_accounts.sign_in("ben", "ben-password-123").role == "reviewer"
    app.selectbox(key="people_who").set_value("vic")
    app.selectbox(key="people_new_role").set_value("reviewer")
    app.button(key="people_set_role").click().run()
    assert "vic is now reviewer." in texts(app) and team_accounts.role_of("vic") == "reviewer"


def test_a_network_address_without_accounts_is_refused_until_someone_can_sign_in(root, monkeypatch):
    from streamlit import config

    monkeypatch.setenv("PRODSIM_PREPARE_DEMO", "0")
    monkeypatch.setattr("streamlit.testing.v1.app_test.PagesManager", NavigationOnlyPagesManager)
    address = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    try:
        app = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
        assert app.title[0].value == "prodsim cannot start on this address yet" and "python -m prodsim users add" in texts(app)
        assert not app.selectbox and not (root / "demo-catalog").exists()  # nothing served, nothing made
        monkeypatch.setenv("PRODSIM_READ_ONLY", "1")  # a read-only demo may be shown to anyone
        app = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
        assert app.title[0].value != "prodsim cannot start on this address yet" and not app.exception
    finally:
        config.set_option("server.address", address)


def test_an_identity_provider_in_the_secrets_signs_people_in_through_st_login(root, monkeypatch):
    monkeypatch.setenv("PRODSIM_PREPARE_DEMO", "0")
    monkeypatch.setattr("streamlit.testing.v1.app_test.PagesManager", NavigationOnlyPagesManager)
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    app.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "a long random secret",
                           "client_id": "prodsim", "client_secret": "s", "server_metadata_url": "https://id.example/.well-known/openid-configuration"}
    app.run()
    assert app.title[0].value == "Sign in to prodsim" and app.button(key="sign_in_provider").label == "Sign in"
    assert not [t for t in app.text_input if t.key == "sign_in_password"] and not app.selectbox  # no local form, no app
