"""Reading a folder of markdown docs: find the files, decode and repair them, clean them, name their language.

Every check that can reject a file (unreadable, empty, binary, too large) happens here, before
anything is written to the index, so a bad folder never leaves a half-updated index behind.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from knowledge.lang import SUPPORTED_LANGUAGES, detect_language

MARKDOWN_SUFFIXES = (".md", ".markdown")
# A lesson is tens of kilobytes; a markdown file of megabytes is a dump or a mistake, not a doc.
MAX_FILE_BYTES = 5 * 1024 * 1024
# Bumped whenever cleaning or splitting changes, so re-ingest rebuilds files whose bytes did not change.
PIPELINE_VERSION = "2"
_SKIPPED_DIRS = {"node_modules", "__pycache__"}
# Two-letter codes accepted as a language folder (`docs/fi/...`); the rest of a path is not guessed at.
LANGUAGE_CODES = frozenset(
    "ar bg bn ca cs da de el en es et fa fi fr he hi hr hu id it ja ko lt lv ms nl no pl pt ro ru sk sl sr sv th tr uk ur vi zh".split()
)

# Comments are dropped, except a section's list of the questions it answers (knowledge.chunks).
_HTML_COMMENT = re.compile(r"<!--(?!\s*questions:).*?-->", re.DOTALL)
# Badges are images wrapped in links: [![alt](img)](target).
_LINKED_IMAGE = re.compile(r"\[!\[[^\]]*\]\([^)]*\)\]\([^)]*\)")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_HTML_IMAGE = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_BLANK_RUNS = re.compile(r"\n{3,}")


class IngestError(Exception):
    """Input that cannot be ingested; the message says which file and what to do."""


@dataclass(frozen=True)
class DocFile:
    """One cleaned markdown document ready for splitting."""

    source: str  # path relative to the ingested folder, POSIX style
    text: str
    lang: str
    digest: str  # changes when the file's bytes or the pipeline change


def find_markdown_files(root: Path) -> list[Path]:
    """All markdown files under `root` (hidden folders skipped), sorted; raises IngestError for a bad folder."""
    if not root.exists():
        raise IngestError(f"Folder not found: {root}")
    if not root.is_dir():
        raise IngestError(f"Not a folder: {root}. Give the folder that holds the markdown docs.")
    errors: list[OSError] = []
    found: list[Path] = []
    for folder, subfolders, files in os.walk(root, onerror=errors.append, followlinks=False):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith(".") and d not in _SKIPPED_DIRS)
        found.extend(Path(folder) / name for name in files if name.lower().endswith(MARKDOWN_SUFFIXES))
    if errors:
        raise IngestError(f"Cannot read folder {errors[0].filename}: {errors[0].strerror}. Check its permissions.")
    if not found:
        raise IngestError(f"No markdown files (*.md) found in {root}.")
    return sorted(found)


def load_doc(root: Path, path: Path) -> DocFile:
    """Read, decode, repair and clean one file; raises IngestError naming the file."""
    source = path.relative_to(root).as_posix()
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise IngestError(
                f"{source}: file is {size / 1e6:.1f} MB, over the {MAX_FILE_BYTES // 1_000_000} MB limit for one doc. "
                "Split it into smaller files."
            )
        data = path.read_bytes()
    except OSError as error:
        raise IngestError(f"{source}: cannot read file ({error.strerror or error}). Check that it exists and is readable.") from None
    import ftfy  # here, not at the top: a start whose docs are unchanged only digests them (~0.3 s of imports)

    text = decode_text(data, source)
    text = clean_markdown(ftfy.fix_encoding(text))
    lang = language_from_path(source) or detect_language(text[:4000], SUPPORTED_LANGUAGES)
    return DocFile(source=source, text=text, lang=lang, digest=file_digest(data))


def file_digest(data: bytes) -> str:
    """A doc file's digest: its bytes and the pipeline's version (a new version re-indexes every doc)."""
    return hashlib.sha256(PIPELINE_VERSION.encode() + b"\0" + data).hexdigest()


def decode_text(data: bytes, source: str) -> str:
    """Bytes to text: UTF-8, else Windows-1252, else charset detection; binary and empty input are errors."""
    if not data.strip():
        raise IngestError(f"{source}: file is empty. Add content or remove the file.")
    if b"\0" in data[:8192]:
        raise IngestError(f"{source}: looks like a binary file, not markdown text. Remove it from the folder.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        # Legacy Windows files in English or Finnish are Windows-1252 far more often than what a
        # detector guesses from a few accented letters (it tends to pick a Baltic code page).
        return data.decode("cp1252")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise IngestError(f"{source}: not readable as text in any known encoding. Save it as UTF-8.")
    return str(best)


def clean_markdown(text: str) -> str:
    """Drop what is noise for retrieval: HTML comments (but questions lists), badges and images; normalise line ends."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _HTML_COMMENT.sub("", text)
    text = _LINKED_IMAGE.sub("", text)
    text = _IMAGE.sub("", text)
    text = _HTML_IMAGE.sub("", text)
    return _BLANK_RUNS.sub("\n\n", text).strip() + "\n"


def language_from_path(source: str) -> str | None:
    """`docs/fi/x.md` and `translations/fi/...` name their language; other paths say nothing."""
    parts = [part.lower() for part in PurePosixPath(source).parts[:-1]]
    for index, part in enumerate(parts):
        if part == "translations" and index + 1 < len(parts):
            return parts[index + 1].split("-")[0]
    for part in parts:
        if part in LANGUAGE_CODES:
            return part
    return None
