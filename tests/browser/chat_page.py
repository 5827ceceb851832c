"""Page helpers for the browser tests: the Gradio chat as a learner sees it.

`ChatPage` opens the app, sends a message the way a learner does (type, Enter), waits for the
answer to finish streaming, reads the latest answer and its tool steps, opens tabs and keeps
numbered screenshots. Selectors are Gradio 6's own markup (data-testid, roles), not our layout.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from playwright.sync_api import Locator, Page

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
STORAGE_KEY = "finetune-tutor-learner"
_shot_numbers = itertools.count(1)
CHAT_TEXTBOX = '[role="tabpanel"]:has([role="log"]) textarea[data-testid="textbox"]'

# True when the reply to the `n`-th user message is complete: no loading bubble, no pending tool,
# the chatbot's status tracker hidden (it shows while its event is pending or generating), a bot row last.
_ANSWER_DONE = """
(n) => {
  const users = document.querySelectorAll('[data-testid="user"]').length;
  if (users < n) return false;
  if (document.querySelector('[aria-label="Loading response"]')) return false;
  if (document.querySelector('.thought-group .loading-spinner')) return false;
  const log = document.querySelector('[role="log"]');
  const block = log && log.closest('.block');
  const tracker = block && block.querySelector('[data-testid="status-tracker"]');
  if (tracker && !tracker.classList.contains('hide')) return false;
  const rows = document.querySelectorAll('.message-wrap .message-row');
  return rows.length > 0 && rows[rows.length - 1].classList.contains('bot-row');
}
"""

# The bot messages after the last user message, as {tool: title or null, text}.
_LATEST_REPLY = """
() => {
  const rows = [...document.querySelectorAll('.message-wrap .message-row')];
  const reply = [];
  for (let i = rows.length - 1; i >= 0 && rows[i].classList.contains('bot-row'); i--) {
    const messages = [...rows[i].querySelectorAll('[data-testid="bot"]')].map(el => {
      const group = el.querySelector('.thought-group');
      if (!group) return {tool: null, text: el.innerText.trim()};
      const title = group.querySelector('.title .md') || group.querySelector('.title');
      const content = group.querySelector('.content');  // present only while expanded
      return {tool: title.innerText.trim(), text: content ? content.innerText.trim() : ''};
    });
    reply.unshift(...messages);
  }
  return reply;
}
"""


@dataclass
class ReplyPart:
    tool: str | None  # the collapsible tool message's title ("🛠️ Used tool …"); None for answer text
    text: str


class ChatPage:
    def __init__(self, page: Page, url: str):
        self.page = page
        self.url = url
        self.external_requests: list[str] = []

    # -- navigation ----------------------------------------------------------------------------
    def open(self) -> "ChatPage":
        """Load the app and wait until the message box is ready and the learner id is stored."""
        self.page.goto(self.url, wait_until="load")
        self.textbox.wait_for(state="visible", timeout=60_000)
        # The app's load event assigns a learner id; a message sent before it lands on learner "default".
        self.page.wait_for_function(f"() => localStorage.getItem({STORAGE_KEY!r}) !== null", timeout=30_000)
        return self

    def reload(self) -> None:
        self.page.reload(wait_until="load")
        self.textbox.wait_for(state="visible", timeout=60_000)

    def tab(self, name: str) -> Locator:
        return self.page.get_by_role("tab", name=name, exact=True)

    def has_tab(self, name: str) -> bool:
        return self.tab(name).count() > 0

    def open_tab(self, name: str) -> None:
        self.tab(name).click()
        self.page.wait_for_function(
            "(name) => [...document.querySelectorAll('[role=tab]')].some(t => t.innerText.trim() === name && t.getAttribute('aria-selected') === 'true')",
            arg=name,
            timeout=10_000,
        )

    def tab_names(self) -> list[str]:
        return [name.strip() for name in self.page.get_by_role("tab").all_inner_texts()]

    # -- chatting --------------------------------------------------------------------------------
    @property
    def textbox(self) -> Locator:
        """The message box: the text box in the tab that holds the chat log (other tabs have text boxes too)."""
        return self.page.locator(CHAT_TEXTBOX).first

    def user_message_count(self) -> int:
        return self.page.get_by_test_id("user").count()

    def send(self, message: str, timeout_s: float = 60) -> list[ReplyPart]:
        """Type a message, press Enter and wait until the reply has finished streaming."""
        expected = self.user_message_count() + 1
        self.textbox.click()
        self.textbox.fill(message)
        self.textbox.press("Enter")
        return self.wait_for_reply(expected, timeout_s)

    def wait_for_reply(self, user_messages: int, timeout_s: float = 60) -> list[ReplyPart]:
        try:
            self.page.wait_for_function(_ANSWER_DONE, arg=user_messages, timeout=timeout_s * 1000, polling=200)
        except Exception:
            self.screenshot("timeout")  # what the learner saw when the answer did not come
            raise
        # A last check that nothing still changes (the final yield can trail the button by a frame).
        previous = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            current = self.latest_reply()
            if current == previous:
                return current
            previous = current
            self.page.wait_for_timeout(300)
        return previous or []

    def latest_reply(self) -> list[ReplyPart]:
        return [ReplyPart(**part) for part in self.page.evaluate(_LATEST_REPLY)]

    def latest_answer(self) -> str:
        """The text of the last non-tool message of the latest reply."""
        texts = [part.text for part in self.latest_reply() if part.tool is None]
        return texts[-1] if texts else ""

    def follow_ups(self) -> Locator:
        """The option buttons Gradio shows under the latest answer (its `ChatMessage.options`)."""
        return self.page.locator("#chatbot .options button.option")

    def choose_follow_up(self, label: str, timeout_s: float = 60) -> list[ReplyPart]:
        """Click the follow-up button `label` and wait until the reply to it has finished streaming."""
        expected = self.user_message_count() + 1
        self.follow_ups().filter(has_text=label).click()
        return self.wait_for_reply(expected, timeout_s)

    def latest_question(self) -> str:
        """The text of the learner's latest message, as the chat shows it."""
        return self.page.get_by_test_id("user").last.inner_text().strip()

    def latest_tools(self) -> list[str]:
        return [part.tool for part in self.latest_reply() if part.tool]

    def tool_groups(self) -> Locator:
        return self.page.locator(".message-row.bot-row .thought-group")

    # -- artifacts ---------------------------------------------------------------------------
    def screenshot(self, step: str, full_page: bool = True) -> Path:
        """Save test-artifacts/browser/NN-step.png (numbered in the order taken across the session)."""
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{next(_shot_numbers):02d}-{step}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


# The `open_chat` fixture: open the app in a new browser context, e.g. `open_chat(locale="fi-FI")`.
OpenChat = Callable[..., ChatPage]
