"""Who gets what, over HTTP with the real app: learner tokens from `/new_learner`, and the password file.

Two clients with their own tokens never see each other's datasets or jobs; a plain learner id or an edited
token is refused, by `/chat` and by the tabs' events alike. With `TUTOR_AUTH_FILE` a wrong password gets no
session and two users are kept apart.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from gradio_client import Client

from app_server import ARTIFACTS, AppServer, start_app
from core.identity import add_user
from trainer.jobs.store import JobStore, new_job_id

REFUSED = "not valid here"


def edited(token: str, at: int) -> str:
    return token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1:]


def choices(update: dict) -> list[str]:
    """The names a dropdown update offers (gradio sends [value, label] pairs)."""
    return [value for value, _ in update["choices"]]


def refusal(call) -> str:
    with pytest.raises(Exception) as raised:
        call()
    return str(raised.value)


@pytest.fixture(scope="module")
def two_learners(app_server: AppServer) -> tuple[Client, str, Client, str]:
    a, b = Client(app_server.url, verbose=False), Client(app_server.url, verbose=False)
    return a, a.predict(api_name="/new_learner"), b, b.predict(api_name="/new_learner")


def test_new_learner_gives_a_fresh_signed_token_each_time(two_learners):
    a, token_a, _, token_b = two_learners
    third = a.predict(api_name="/new_learner")
    ids = [token.split(".")[0] for token in (token_a, token_b, third)]
    assert len(set(ids)) == 3
    assert all(len(token.split(".")[1]) >= 40 for token in (token_a, token_b, third))


def test_two_token_holders_never_see_each_others_datasets(app_server: AppServer, two_learners):
    a, token_a, b, token_b = two_learners
    assert "alpha_secrets" in a.predict("create a dataset called alpha_secrets", token_a, api_name="/chat")
    assert "alpha_secrets" in a.predict("list my datasets", token_a, api_name="/chat")
    assert "alpha_secrets" not in b.predict("list my datasets", token_b, api_name="/chat")
    # The Dataset tab's event (what the page calls when the dropdown gets focus) answers the same way.
    assert choices(a.predict(token_a, None, api_name="/show")[0]) == ["alpha_secrets"]
    assert "alpha_secrets" not in choices(b.predict(token_b, None, api_name="/show")[0])
    assert (app_server.data_dir / "learners" / token_a.split(".")[0]).is_dir()


def test_two_token_holders_never_see_each_others_jobs(app_server: AppServer, two_learners):
    a, token_a, b, token_b = two_learners
    store = JobStore(app_server.data_dir / "jobs.sqlite")
    job = store.create(job_id=new_job_id(), owner=token_a.split(".")[0], backend="local", model="m", dataset="alpha_secrets",
                       config={"train_file": "t.jsonl", "backend": "local"})
    store.finish(job.id, "failed", error="made by the test")
    assert job.id in a.predict("list my jobs", token_a, api_name="/chat")
    assert job.id not in b.predict("list my jobs", token_b, api_name="/chat")
    # The Jobs tab's refresh (what its timer calls) picks A's job for A and nothing for B.
    assert job.id in choices(a.predict(token_a, None, api_name="/refresh")[1])
    assert job.id not in choices(b.predict(token_b, None, api_name="/refresh")[1])


def test_a_plain_id_or_an_edited_token_is_refused(app_server: AppServer, two_learners):
    a, token_a, b, token_b = two_learners
    log_before = len(app_server.log_text())
    plain = token_a.split(".")[0]
    a.predict("create a dataset called alpha_only", token_a, api_name="/chat")
    forged = [
        plain,  # A's learner id, as the old API took it
        edited(token_a, len(token_a) - 1),  # A's token with its signature edited
        edited(token_b, 0),  # B's signature on another id
        plain + "." + token_b.split(".")[1],  # A's id with B's signature
    ]
    for token in forged:
        message = refusal(lambda: b.predict("list my datasets", token, api_name="/chat"))
        assert REFUSED in message and "alpha_only" not in message
        # The tabs' events check the same way.
        assert REFUSED in refusal(lambda: b.predict(token, None, api_name="/show"))
        assert REFUSED in refusal(lambda: b.predict(token, None, api_name="/refresh"))
    # No token at all: told how to get one.
    assert "/new_learner" in refusal(lambda: b.predict("list my datasets", api_name="/chat"))
    assert "/new_learner" in refusal(lambda: b.predict(None, None, api_name="/show"))
    # A refusal is expected, not a crash: no traceback in the server's log, and no token either.
    logged = app_server.log_text()[log_before:]
    assert "Traceback" not in logged and token_b.split(".")[1] not in logged


# -- the password file --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def password_app(app_server: AppServer, tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[AppServer]:
    """A second app with TUTOR_AUTH_FILE; it starts from a copy of the first one's lesson index (no rebuild)."""
    root = tmp_path_factory.mktemp("password-app")
    users = root / "users"
    add_user(users, "ada", "ada's password", iterations=20_000)
    add_user(users, "grace", "grace's password", iterations=20_000)
    data_dir = root / "data"
    shutil.copytree(app_server.data_dir / "index", data_dir / "index")
    server = start_app(data_dir, ARTIFACTS / "app-server-password.log", model_cache=model_cache,
                       extra_env={"TUTOR_AUTH_FILE": str(users)})
    yield server
    server.stop()


def test_with_a_password_file_a_wrong_password_gets_nothing(password_app: AppServer):
    assert "Learners: password mode" in password_app.log_text()
    with httpx.Client(timeout=60, trust_env=False) as http:
        for username, password in (("ada", "grace's password"), ("ada", "x"), ("nobody", "ada's password")):
            response = http.post(password_app.url + "login/", data={"username": username, "password": password})
            assert response.status_code in (400, 401) and not response.cookies, (username, response.status_code)
            with pytest.raises(Exception, match="Could not login"):
                Client(password_app.url, auth=(username, password), verbose=False)
        signed_in = http.post(password_app.url + "login/", data={"username": "ada", "password": "ada's password"})
        cookie = "; ".join(f"{name}={value}" for name, value in signed_in.cookies.items())
        assert signed_in.status_code == 200 and cookie
        assert http.get(password_app.url + "gradio_api/info", headers={"cookie": cookie}).status_code == 200
        assert httpx.get(password_app.url + "gradio_api/info", trust_env=False).status_code == 401  # without
    with pytest.raises(Exception):
        Client(password_app.url, verbose=False)  # no sign-in, no API


def test_with_a_password_file_two_users_are_kept_apart(password_app: AppServer):
    ada = Client(password_app.url, auth=("ada", "ada's password"), verbose=False)
    grace = Client(password_app.url, auth=("grace", "grace's password"), verbose=False)
    assert "ada_notes" in ada.predict("create a dataset called ada_notes", api_name="/chat")
    assert "ada_notes" in ada.predict("list my datasets", api_name="/chat")
    assert "ada_notes" not in grace.predict("list my datasets", api_name="/chat")
    # A token (even a genuine one) does not turn grace into anyone else: the signed-in user is the learner.
    token = grace.predict(api_name="/new_learner")
    assert "ada_notes" not in grace.predict("list my datasets", token, api_name="/chat")
    assert "ada_notes" not in choices(grace.predict(None, None, api_name="/show")[0])
    assert choices(ada.predict(None, None, api_name="/show")[0]) == ["ada_notes"]
    assert {"ada", "grace"} <= password_app.learner_ids()
