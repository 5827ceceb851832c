"""The real app over HTTP: `python app.py` in a subprocess, asked through gradio_client's `/chat` endpoint.

The client asks `/new_learner` for its token once and passes it to every `/chat` (tests/test_identity_http.py
checks who gets what)."""

from __future__ import annotations

import re

import httpx
import pytest
from gradio_client import Client

from app_server import AppServer

CITATION = re.compile(r"^\d+\. (?P<heading>.+?) — `(?P<source>(?P<lang>en|fi)/[\w\-]+\.md#[\w\-]+)`$", re.MULTILINE)
FINNISH_LETTERS = re.compile(r"[äöÄÖ]")
# What a failed network call leaves in a log; with HF_HUB_OFFLINE=1 and no telemetry there must be none.
CONNECTION_ERRORS = re.compile(
    r"ConnectError|ConnectionError|ConnectTimeout|Max retries exceeded|Failed to establish|Name or service not known|"
    r"Temporary failure in name resolution|getaddrinfo|ProxyError|Network is unreachable",
)


@pytest.fixture(scope="module")
def client(app_server: AppServer) -> Client:
    return Client(app_server.url, verbose=False)


@pytest.fixture(scope="module")
def token(client: Client) -> str:
    return client.predict(api_name="/new_learner")


def ask(client: Client, question: str, token: str) -> str:
    answer = client.predict(question, token, api_name="/chat")
    assert isinstance(answer, str)
    return answer


def citations(answer: str) -> list[re.Match[str]]:
    return list(CITATION.finditer(answer))


def test_app_starts_without_touching_the_network(app_server: AppServer):
    # The start-up part of the log only (start_app returns once the app's background start-up is done, so the
    # models a first answer loads have loaded): the app server is shared by the session's test files, and
    # refusals other tests provoke on purpose are logged after it.
    log = app_server.startup_log
    assert "Running on local URL" in log
    assert not CONNECTION_ERRORS.search(log), log[-2000:]
    assert "Traceback" not in log, log[-2000:]
    # Every HTTP library in the app was pointed at a recorder posing as a proxy: nothing asked for it.
    assert app_server.outbound.requests == []


def test_a_fresh_data_dir_starts_from_the_prebuilt_index_without_embedding(app_server: AppServer):
    log = app_server.startup_log
    ready = re.search(r"Lesson index ready: \d+ sections \((\d+) files added, .*?; (\d+) from the prebuilt index, (\d+) texts embedded\)", log)
    assert ready, log[-2000:]
    assert int(ready[1]) > 0 and ready[2] == ready[1] and ready[3] == "0"
    assert "Ready to answer" in log


def test_english_lesson_question_gets_an_english_answer_citing_english_sections(client: Client, token: str):
    answer = ask(client, "What is fine-tuning and how is it different from RAG?", token)
    body, _, sources = answer.partition("**Sources**")
    assert sources, answer
    assert "RAG" in body and len(body.split()) >= 20
    assert not FINNISH_LETTERS.search(body) and "Lähteet" not in answer
    found = citations(sources)
    assert found, sources
    assert {match["lang"] for match in found} == {"en"}
    assert all(match["heading"].strip() for match in found)
    # The body points at the numbered sources it quotes.
    assert re.search(r"\[1\]", body)


def test_finnish_question_gets_a_finnish_answer_citing_finnish_sections(client: Client, token: str):
    answer = ask(client, "Mitä hienosäätö tarkoittaa ja miten se eroaa RAGista?", token)
    body, _, sources = answer.partition("**Lähteet**")
    assert sources, answer
    assert FINNISH_LETTERS.search(body) and "**Sources**" not in answer
    found = citations(sources)
    assert found, sources
    assert {match["lang"] for match in found} == {"fi"}


@pytest.mark.parametrize(
    ("question", "refusal"),
    [
        ("What is the best pizza recipe in Naples?", "don't cover"),
        ("Mikä on paras pizzaresepti Napolissa?", "ei käsittele"),
    ],
)
def test_off_topic_question_is_refused_plainly(client: Client, token: str, question: str, refusal: str):
    answer = ask(client, question, token)
    assert refusal in answer
    # No sources, since nothing was quoted; instead the lesson's topics, so the learner knows what to ask.
    assert not citations(answer) and "Sources" not in answer and "Lähteet" not in answer
    assert len(re.findall(r"^- .+$", answer, re.MULTILINE)) >= 3


@pytest.mark.parametrize("question", ["", "   \n"])
def test_empty_question_gets_a_helpful_reply(client: Client, token: str, question: str):
    answer = ask(client, question, token)
    # In the language this learner last used (state is kept per learner): English or Finnish.
    assert "empty" in answer.lower() or "tyhjä" in answer.lower()
    assert "LoRA" in answer  # an example question to start from
    assert '"help"' in answer or '"apua"' in answer  # and how to see what the tutor can do


def test_app_keeps_serving_after_bad_requests(app_server: AppServer, client: Client, token: str):
    endpoint = app_server.url + "gradio_api/call/chat"
    with httpx.Client(timeout=60, trust_env=False) as http:
        not_json = http.post(endpoint, content=b"{not json", headers={"content-type": "application/json"})
        assert not_json.status_code == 422
        assert "Traceback" not in not_json.text
        no_data = http.post(endpoint, json={"question": "What is LoRA?"})
        assert no_data.status_code == 422
        # Wrong number of inputs is accepted for queuing, then reported as an error event, not a crash.
        queued = http.post(endpoint, json={"data": [1, 2, 3]})
        assert queued.status_code == 200
        events = http.get(f"{endpoint}/{queued.json()['event_id']}").text
        assert "event: error" in events and "Traceback" not in events
    with pytest.raises(Exception) as raised:
        client.predict(None, api_name="/chat")
    assert "Traceback" not in str(raised.value)
    # A very long message is answered, not a crash or a hang.
    assert ask(client, "What is LoRA? " * 5000, token)
    assert app_server.alive()
    answer = ask(client, "How many training examples do I need?", token)
    assert "**Sources**" in answer and citations(answer)


def test_non_string_message_gets_an_actionable_error(client: Client):
    with pytest.raises(Exception) as raised:
        client.predict(123, api_name="/chat")
    # gr.Error messages reach the client even without show_error; a generic failure does not say what to fix.
    assert "string" in str(raised.value).lower() or "text" in str(raised.value).lower()


def test_api_info_lists_the_chat_and_new_learner_endpoints(app_server: AppServer):
    info = httpx.get(app_server.url + "gradio_api/info", timeout=30, trust_env=False).json()
    endpoint = info["named_endpoints"]["/chat"]
    names = [p["parameter_name"] for p in endpoint["parameters"]]
    # The request and the Hugging Face profile gradio injects are not parameters a client sees.
    assert names == ["message", "learner"]
    assert endpoint["parameters"][1]["parameter_has_default"], "a signed-in user needs no token"
    assert len(endpoint["returns"]) == 1  # one answer, in markdown
    new_learner = info["named_endpoints"]["/new_learner"]
    assert new_learner["parameters"] == [] and len(new_learner["returns"]) == 1
