"""Who a learner is: signed learner tokens, the server's secret, and the password file of a self-hosted app.

A token is `<learner id>.<signature>`, the signature being the base64url HMAC-SHA256 of the id under the
server's secret (`TUTOR_SECRET`, or one generated once into `TUTOR_DATA_DIR/.learner-secret`, mode 0600).
Only the server can issue one, so a guessed or edited id gets nothing. The learner id inside stays a plain
folder name (`LEARNER_ID`), so datasets, jobs and progress are kept by id as before.

The password file (`TUTOR_AUTH_FILE`) holds one `user:pbkdf2_sha256$iterations$salt$hash` line per user;
add one with `python -m core.identity add-user FILE NAME` (the password is asked for, or read from stdin
with `--password-stdin`).
"""

from __future__ import annotations

import argparse
import base64
import getpass
import hashlib
import hmac
import os
import re
import secrets
import sys
import uuid
from pathlib import Path

# A learner id names a folder: 1-64 letters, digits, '-' or '_'.
LEARNER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SECRET_FILE = ".learner-secret"
HASH_SCHEME = "pbkdf2_sha256"
# OWASP's 2023 figure for PBKDF2-HMAC-SHA256.
DEFAULT_ITERATIONS = 600_000
_SIGNED = b"finetune-tutor learner:"


def valid_learner_id(value: object) -> bool:
    return isinstance(value, str) and LEARNER_ID.fullmatch(value) is not None


def new_learner_id() -> str:
    """A fresh random learner id (16 hex digits)."""
    return uuid.uuid4().hex[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _signature(secret: bytes, learner: str) -> str:
    return _b64(hmac.new(secret, _SIGNED + learner.encode("ascii"), hashlib.sha256).digest())


def issue_token(secret: bytes, learner: str) -> str:
    """A token for `learner` signed with the server's secret."""
    if not valid_learner_id(learner):
        raise ValueError("A learner id is 1-64 letters, digits, '-' or '_'.")
    return f"{learner}.{_signature(secret, learner)}"


def verify_token(secret: bytes, token: object) -> str | None:
    """The learner id a genuine token names; None for anything else (a plain id, an edited or foreign token)."""
    if not isinstance(token, str) or token.count(".") != 1:
        return None
    learner, signature = token.split(".")
    if not valid_learner_id(learner):
        return None
    return learner if hmac.compare_digest(signature.encode("ascii", "replace"), _signature(secret, learner).encode("ascii")) else None


def learner_of_token(token: object) -> str | None:
    """The learner id a token claims, unchecked (for display and tests, never for access)."""
    if isinstance(token, str) and token.count(".") == 1 and valid_learner_id(token.split(".")[0]):
        return token.split(".")[0]
    return None


def load_secret(configured: str | None, data_dir: Path) -> bytes:
    """The signing secret: `configured` (TUTOR_SECRET) when set, else the data folder's own, created once (0600)."""
    if configured:
        return configured.encode("utf-8")
    path = data_dir / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32))
    value = path.read_text(encoding="ascii").strip()
    if len(value) < 32:
        raise ValueError(f"{path} holds no usable secret: delete it to have a new one made (every learner token changes).")
    return value.encode("ascii")


# -- the password file ----------------------------------------------------------------------------


def hash_password(password: str, *, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None) -> str:
    """`pbkdf2_sha256$iterations$salt$hash` (base64url) for the password file."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"{HASH_SCHEME}${iterations}${_b64(salt)}${_b64(digest)}"


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def password_matches(password: str, stored: str) -> bool:
    try:
        scheme, iterations, salt, digest = stored.split("$")
        if scheme != HASH_SCHEME:
            return False
        expected = _unb64(digest)
        actual = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), _unb64(salt), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def read_auth_file(path: Path) -> dict[str, str]:
    """User name → stored hash; blank lines and `#` comments are skipped, a malformed line is an error."""
    users: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, stored = line.partition(":")
        if not sep or not valid_learner_id(name) or not stored.startswith(HASH_SCHEME + "$"):
            raise ValueError(f"{path}:{number}: expected `name:{HASH_SCHEME}$…` (add users with `python -m core.identity add-user`).")
        users[name] = stored
    return users


# Compared against when the file has no users at all.
_DUMMY = hash_password("", iterations=1000, salt=b"\0" * 16)


def check_password(path: Path, username: str, password: str) -> bool:
    """Whether the password file lets `username` in with `password` (read on every sign-in)."""
    users = read_auth_file(path)
    stored = users.get(username)
    if stored is None:
        password_matches(password, next(iter(users.values()), _DUMMY))  # same cost as a wrong password
        return False
    return password_matches(password, stored)


def add_user(path: Path, username: str, password: str, *, iterations: int = DEFAULT_ITERATIONS) -> None:
    """Add `username` to the password file (or change their password); the file is created with mode 0600."""
    if not valid_learner_id(username):
        raise ValueError("A user name is 1-64 letters, digits, '-' or '_' (it names the learner's folder).")
    if not password:
        raise ValueError("The password is empty.")
    users = read_auth_file(path) if path.exists() else {}
    users[username] = hash_password(password, iterations=iterations)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("".join(f"{name}:{stored}\n" for name, stored in users.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.identity", description="Manage finetune-tutor's password file (TUTOR_AUTH_FILE).")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add-user", help="add a user or change their password")
    add.add_argument("file", type=Path)
    add.add_argument("username")
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    args = parser.parse_args(argv)
    password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else getpass.getpass(f"Password for {args.username}: ")
    try:
        add_user(args.file, args.username, password)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"{args.username} can now sign in ({args.file}).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
