"""Which learner an event is for: the signed-in user, or the signed learner token the browser or API client holds.

Three modes (`Identity.mode`), picked once by app.py:

- `oauth`: a Space with `hf_oauth: true`; a learner signed in with Hugging Face is `hf-<username>`, a signed-out
  visitor a guest with a token of their own browser;
- `password`: self-hosted with `TUTOR_AUTH_FILE`; Gradio asks for a user name and password and the learner is
  `request.username`;
- `token`: otherwise; the learner is whoever holds a token the server signed (`core.identity`), kept by the
  browser in `gr.BrowserState` and asked for by API clients with `/new_learner`.

`resolve_learner` is the one check: chat, both tabs and the API go through it, and a missing, plain, edited or
foreign token is refused with a `gr.Error`. `identified` turns a handler written for a learner id into a
Gradio handler that takes the token (and the request and OAuth profile Gradio injects) in its place.
"""

from __future__ import annotations

import hashlib
import inspect
import re
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

import gradio as gr

from core.identity import check_password, issue_token, load_secret, new_learner_id, valid_learner_id, verify_token
from core.settings import Settings
from core.texts import DEFAULT_LANGUAGE, text
from ui.common import refusal

Mode = Literal["token", "password", "oauth"]
_NOT_IN_ID = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class Identity:
    secret: bytes
    mode: Mode = "token"
    auth_file: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings, *, oauth: bool = False) -> "Identity":
        """The password file wins over OAuth; without either, signed tokens."""
        configured = settings.secret.get_secret_value() if settings.secret else None
        secret = load_secret(configured, settings.data_dir)
        if settings.auth_file is not None:
            return cls(secret, "password", settings.auth_file)
        return cls(secret, "oauth" if oauth else "token")

    def new_token(self) -> str:
        """A token for a new learner of their own."""
        return issue_token(self.secret, new_learner_id())

    def browser_token(self, stored: str | None) -> str:
        """The browser's token: the one it keeps when it is genuine, else a new learner's (a plain id is not migrated)."""
        return stored if verify_token(self.secret, stored) else self.new_token()

    def check_login(self, username: str, password: str) -> bool:
        """Gradio's `auth=` callable in password mode: the file is read on every sign-in."""
        return self.auth_file is not None and check_password(self.auth_file, username, password)


def oauth_learner(username: str) -> str:
    """`hf-<username>` as a learner id; a name that needed changing (or shortening) gets a hash, so two never meet."""
    cleaned = _NOT_IN_ID.sub("_", username)
    learner = f"hf-{cleaned}"
    if cleaned != username or len(learner) > 64:
        learner = f"{learner[:51]}-{hashlib.sha256(username.encode('utf-8')).hexdigest()[:12]}"
    return learner


def resolve_learner(identity: Identity, token: str | None, request: gr.Request | None = None,
                    profile: gr.OAuthProfile | None = None) -> str:
    """The learner an event or API call is for, or a `gr.Error` saying why there is none.

    A signed-in user (Hugging Face in oauth mode, the password file in password mode) is their own learner and
    any token is ignored; everyone else needs a token this server signed.
    """
    if identity.mode == "oauth" and profile is not None:
        return oauth_learner(profile.username)
    if identity.mode == "password":
        username = getattr(request, "username", None)
        if valid_learner_id(username):
            return str(username)
        raise refusal(text(DEFAULT_LANGUAGE, "identity.sign_in"))
    if token is None or token == "":
        raise refusal(text(DEFAULT_LANGUAGE, "identity.missing"))
    learner = verify_token(identity.secret, token)
    if learner is None:
        raise refusal(text(DEFAULT_LANGUAGE, "identity.refused"))
    return learner


_POSITIONAL = inspect.Parameter.POSITIONAL_OR_KEYWORD


def identified(identity: Identity, fn: Callable[..., Any], *, inputs: int | None = None,
               quiet: Callable[[], Any] | None = None) -> Callable[..., Any]:
    """`fn(learner_id, *values)` as a Gradio handler `(token, *values, request, profile)`.

    The event's first input is the learner's token (the `gr.BrowserState`); the handler resolves it with
    `resolve_learner` before `fn` runs. `inputs` is the event's input count, needed only when `fn` takes
    `*args`. With `quiet` (background events: the jobs timer, the guide panel), an event whose learner cannot be
    resolved, e.g. one fired before the page has its token, returns `quiet()` (`gr.skip()`s) instead of a toast;
    it is refused all the same, with nothing read.
    """
    try:
        hints = typing.get_type_hints(fn)
    except (NameError, TypeError):
        hints = {}
    parameters = list(inspect.signature(fn).parameters.values())[1:]
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        if inputs is None:
            raise TypeError(f"{fn.__name__} takes *args: say how many inputs its event has")
        values = [inspect.Parameter(f"value{i}", _POSITIONAL, annotation=Any) for i in range(1, inputs)]
    else:
        values = [p.replace(kind=_POSITIONAL, annotation=hints.get(p.name, Any)) for p in parameters
                  if p.kind in (inspect.Parameter.POSITIONAL_ONLY, _POSITIONAL)]
    signature = [
        inspect.Parameter("learner", _POSITIONAL, annotation=str | None),
        *values,
        inspect.Parameter("request", _POSITIONAL, annotation=gr.Request),
        inspect.Parameter("profile", _POSITIONAL, annotation=gr.OAuthProfile | None),
    ]

    def learner_and_values(args: tuple[Any, ...]) -> tuple[str | None, tuple[Any, ...]]:
        token, *rest, request, profile = args
        try:
            return resolve_learner(identity, token, request, profile), tuple(rest)
        except gr.Error:
            if quiet is None:
                raise
            return None, ()

    if inspect.isgeneratorfunction(fn):
        def handler(*args: Any) -> Any:
            learner, rest = learner_and_values(args)
            if learner is None:
                yield quiet()  # type: ignore[misc]
                return
            yield from fn(learner, *rest)
    else:
        def handler(*args: Any) -> Any:
            learner, rest = learner_and_values(args)
            return quiet() if learner is None else fn(learner, *rest)  # type: ignore[misc]

    handler.__signature__ = inspect.Signature(signature)  # type: ignore[attr-defined]
    handler.__annotations__ = {p.name: p.annotation for p in signature}
    handler.__name__ = handler.__qualname__ = fn.__name__
    handler.__doc__ = fn.__doc__
    return handler
