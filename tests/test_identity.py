"""Who a learner is, without a server: signed tokens, the secret file, the password file, and the one resolver."""

from __future__ import annotations

import importlib.util
import inspect
import io
import stat
import sys
from pathlib import Path

import gradio as gr
import pytest

from core.identity import (
    SECRET_FILE,
    add_user,
    check_password,
    issue_token,
    load_secret,
    main,
    new_learner_id,
    read_auth_file,
    valid_learner_id,
    verify_token,
)
from core.settings import Settings, load_settings
from core.texts import text
from ui.identity import Identity, identified, oauth_learner, resolve_learner

SECRET = b"s" * 64
FAST = 1000  # PBKDF2 iterations for tests; the file records the count, so checks use whatever it says


def edited(token: str, at: int) -> str:
    """The token with one character changed."""
    return token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1:]


def profile(username: str) -> gr.OAuthProfile:
    return gr.OAuthProfile({"name": username.title(), "preferred_username": username, "profile": "", "picture": ""})


def request(username: str | None) -> gr.Request:
    return gr.Request(username=username)


# -- tokens -------------------------------------------------------------------------------------------


def test_a_token_names_its_learner_and_only_this_server_can_make_one():
    learner = new_learner_id()
    token = issue_token(SECRET, learner)
    assert token.startswith(learner + ".")
    assert verify_token(SECRET, token) == learner
    assert verify_token(b"t" * 64, token) is None  # another server's secret
    assert verify_token(SECRET, learner) is None  # the plain id
    assert verify_token(SECRET, edited(token, len(token) - 1)) is None  # the signature edited
    assert verify_token(SECRET, edited(token, 0)) is None  # the id edited, signature kept
    other = issue_token(SECRET, new_learner_id())
    assert verify_token(SECRET, learner + "." + other.split(".")[1]) is None  # someone else's signature
    for junk in (None, 123, "", ".", "a.b.c", "../x.y", token + "\n"):
        assert verify_token(SECRET, junk) is None
    with pytest.raises(ValueError):
        issue_token(SECRET, "../etc")


def test_the_secret_is_made_once_with_mode_0600(tmp_path: Path):
    first = load_secret(None, tmp_path / "data")
    path = tmp_path / "data" / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert load_secret(None, tmp_path / "data") == first
    assert load_secret(None, tmp_path / "other") != first
    # TUTOR_SECRET wins, and then no file is written.
    assert load_secret("configured-secret", tmp_path / "third") == b"configured-secret"
    assert not (tmp_path / "third" / SECRET_FILE).exists()


def test_the_new_variables_are_settings(tmp_path: Path):
    settings = load_settings({"TUTOR_DATA_DIR": str(tmp_path), "TUTOR_SECRET": "abc" * 12, "TUTOR_AUTH_FILE": str(tmp_path / "users")})
    assert settings.secret is not None and settings.secret.get_secret_value() == "abc" * 12
    assert settings.auth_file == tmp_path / "users"
    assert "abc" * 12 not in repr(settings)
    assert load_settings({"TUTOR_DATA_DIR": str(tmp_path), "TUTOR_SECRET": " "}).secret is None


def test_identity_mode_follows_the_settings(tmp_path: Path):
    plain = Settings(data_dir=tmp_path / "a")
    assert Identity.from_settings(plain).mode == "token"
    assert Identity.from_settings(plain, oauth=True).mode == "oauth"
    with_file = Settings(data_dir=tmp_path / "a", auth_file=tmp_path / "users")
    assert Identity.from_settings(with_file, oauth=True).mode == "password"
    configured = Identity.from_settings(Settings(data_dir=tmp_path / "b", secret="x" * 40))
    assert configured.secret == b"x" * 40


# -- the password file ----------------------------------------------------------------------------------


def test_password_file_lets_in_the_right_password_only(tmp_path: Path):
    users = tmp_path / "auth" / "users"
    add_user(users, "ada", "correct horse", iterations=FAST)
    add_user(users, "grace", "battery staple", iterations=FAST)
    assert stat.S_IMODE(users.stat().st_mode) == 0o600
    assert set(read_auth_file(users)) == {"ada", "grace"}
    assert "correct horse" not in users.read_text()
    assert check_password(users, "ada", "correct horse")
    assert not check_password(users, "ada", "battery staple")  # another user's password
    assert not check_password(users, "ada", "")
    assert not check_password(users, "nobody", "correct horse")
    # Changing a password replaces the line.
    add_user(users, "ada", "new one", iterations=FAST)
    assert check_password(users, "ada", "new one") and not check_password(users, "ada", "correct horse")
    assert len(read_auth_file(users)) == 2
    with pytest.raises(ValueError):
        add_user(users, "no/slash", "pw", iterations=FAST)
    with pytest.raises(ValueError):
        add_user(users, "empty", "", iterations=FAST)


def test_a_malformed_password_file_is_an_error_naming_the_line(tmp_path: Path):
    users = tmp_path / "users"
    users.write_text("# comment\n\nada:plaintext\n")
    with pytest.raises(ValueError, match=r"users:3"):
        read_auth_file(users)


def test_the_command_line_adds_a_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    users = tmp_path / "users"
    monkeypatch.setattr(sys, "stdin", io.StringIO("s3cret pass\n"))
    assert main(["add-user", str(users), "ada", "--password-stdin"]) == 0
    assert "ada can now sign in" in capsys.readouterr().out
    assert check_password(users, "ada", "s3cret pass")
    assert read_auth_file(users)["ada"].startswith("pbkdf2_sha256$600000$")


# -- resolving the learner ------------------------------------------------------------------------------


def test_hugging_face_users_become_hf_learners_that_never_collide():
    assert oauth_learner("ada") == "hf-ada"
    dotted, underscored = oauth_learner("ada.l"), oauth_learner("ada_l")
    assert underscored == "hf-ada_l"
    assert dotted != underscored and dotted.startswith("hf-ada_l-")
    long = oauth_learner("x" * 100)
    assert len(long) <= 64 and long != oauth_learner("x" * 99)
    for name in ("ada.l", "x" * 100, "名前"):
        learner = resolve_learner(Identity(SECRET, "oauth"), None, None, profile(name))
        assert learner == oauth_learner(name) and valid_learner_id(learner)


def test_token_mode_needs_a_genuine_token():
    identity = Identity(SECRET)
    token = identity.new_token()
    learner = token.split(".")[0]
    assert resolve_learner(identity, token) == learner
    with pytest.raises(gr.Error) as missing:
        resolve_learner(identity, None)
    assert missing.value.message == text("en", "identity.missing") and "/new_learner" in missing.value.message
    for wrong in (learner, edited(token, len(token) - 2), "default", Identity(b"x" * 64).new_token(), 7):
        with pytest.raises(gr.Error) as refused:
            resolve_learner(identity, wrong)
        assert refused.value.message == text("en", "identity.refused")
        assert SECRET.decode() not in refused.value.message
    # Outside oauth mode a profile counts for nothing.
    with pytest.raises(gr.Error):
        resolve_learner(identity, None, None, profile("ada"))


def test_oauth_mode_signed_in_user_wins_and_a_guest_keeps_a_token():
    identity = Identity(SECRET, "oauth")
    guest = identity.new_token()
    assert resolve_learner(identity, guest, None, profile("ada")) == "hf-ada"
    assert resolve_learner(identity, guest, None, None) == guest.split(".")[0]
    with pytest.raises(gr.Error):
        resolve_learner(identity, "hf-ada", None, None)  # the signed-in learner's plain id is no key


def test_password_mode_learner_is_the_signed_in_user(tmp_path: Path):
    identity = Identity(SECRET, "password", tmp_path / "users")
    add_user(tmp_path / "users", "ada", "pw", iterations=FAST)
    assert identity.check_login("ada", "pw") and not identity.check_login("ada", "nope")
    assert resolve_learner(identity, None, request("ada")) == "ada"
    assert resolve_learner(identity, identity.new_token(), request("ada")) == "ada"  # a token changes nothing
    with pytest.raises(gr.Error) as refused:
        resolve_learner(identity, identity.new_token(), request(None))
    assert refused.value.message == text("en", "identity.sign_in")


def test_the_browser_keeps_a_genuine_token_and_gets_a_new_one_otherwise():
    identity = Identity(SECRET)
    token = identity.new_token()
    assert identity.browser_token(token) == token
    for stale in (None, "0123456789abcdef", edited(token, len(token) - 1)):
        fresh = identity.browser_token(stale)
        assert fresh != stale and verify_token(SECRET, fresh) is not None


# -- handlers -----------------------------------------------------------------------------------------


def test_a_wrapped_handler_gets_the_learner_and_gradio_sees_the_special_arguments():
    identity = Identity(SECRET)
    token = identity.new_token()
    calls = []

    def pick(who: str, name: str | None, event: gr.SelectData):
        calls.append((who, name, event))
        return "picked"

    handler = identified(identity, pick)
    parameters = inspect.signature(handler).parameters
    assert list(parameters) == ["learner", "name", "event", "request", "profile"]
    assert handler.__name__ == "pick"
    assert handler.__annotations__["event"] is gr.SelectData
    assert handler.__annotations__["request"] is gr.Request
    assert handler(token, "d", "EVENT", request(None), None) == "picked"
    assert calls == [(token.split(".")[0], "d", "EVENT")]
    with pytest.raises(gr.Error):
        handler(token.split(".")[0], "d", "EVENT", request(None), None)
    assert len(calls) == 1


def test_args_handlers_generators_and_quiet_background_events():
    identity = Identity(SECRET)
    token = identity.new_token()

    def run(who: str, *values):
        return who, values

    wrapped = identified(identity, run, inputs=3)
    assert list(inspect.signature(wrapped).parameters) == ["learner", "value1", "value2", "request", "profile"]
    assert wrapped(token, 1, 2, request(None), None) == (token.split(".")[0], (1, 2))
    with pytest.raises(TypeError):
        identified(identity, run)

    def stream(who: str, message: str):
        yield who
        yield message

    streaming = identified(identity, stream)
    assert inspect.isgeneratorfunction(streaming)
    assert list(streaming(token, "hi", request(None), None)) == [token.split(".")[0], "hi"]
    with pytest.raises(gr.Error):
        list(streaming("plain", "hi", request(None), None))

    seen = []
    quiet = identified(identity, lambda who: seen.append(who), quiet=lambda: "skipped")
    assert quiet(None, request(None), None) == "skipped"
    assert quiet("not-a-token", request(None), None) == "skipped"
    assert seen == []


def test_only_oauth_mode_shows_the_sign_in_button(settings: Settings, monkeypatch: pytest.MonkeyPatch):
    import gradio.routes

    import app

    # Gradio attaches its OAuth routes as the Blocks close; here they are recorded (no gradio[oauth] needed).
    attached = []
    monkeypatch.setattr(gradio.routes, "attach_oauth", attached.append)

    assert not app.hf_oauth_enabled({})
    assert not app.hf_oauth_enabled({"OAUTH_CLIENT_ID": "x"})  # not on a Space: gradio would mock the sign-in
    extras = all(importlib.util.find_spec(name) is not None for name in ("authlib", "itsdangerous"))
    assert app.hf_oauth_enabled({"OAUTH_CLIENT_ID": "x", "SPACE_ID": "me/tutor"}) is extras  # gradio[oauth] or tokens
    oauth = app.build_app(settings, Identity(SECRET, "oauth"))
    tokens = app.build_app(settings, Identity(SECRET))
    assert oauth.expects_oauth and not tokens.expects_oauth
    assert len(attached) == 1
    assert any(isinstance(block, gr.LoginButton) for block in oauth.blocks.values())
