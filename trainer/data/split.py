"""Holding examples back for validation without leaking them into training.

Drafted datasets hold rewordings of one question with the same answer ("Can I return a bike?", "Is it
possible to return a bike?"). Split one by one, a rewording lands in training and its twin in the held-out
set, and the validation loss and the evaluation then measure recall of a trained answer. Examples that
teach the same reply (rewordings, exact repeats) therefore stay on one side of the split.
"""

from __future__ import annotations

import json
import random
from typing import Any


def reply_key(example: Any) -> str:
    """What an example teaches: its last assistant reply (chat) or its preferred output (preference); else itself."""
    if isinstance(example, dict):
        messages = example.get("messages")
        if isinstance(messages, list):
            replies = [m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "assistant"]
            if replies and isinstance(replies[-1], str) and replies[-1].strip():
                return " ".join(replies[-1].split()).casefold()
        if "preferred_output" in example:
            return json.dumps(example["preferred_output"], sort_keys=True, ensure_ascii=False)
    return json.dumps(example, sort_keys=True, ensure_ascii=False)


def held_back(keys: list[str], count: int, seed: int) -> set[int]:
    """The indexes of about `count` examples to hold back, taking whole groups of one key.

    Groups are tried in an order shuffled by `seed` and taken while they fit in `count`; when none fits
    (every group is larger), the smallest group is held back, so the split may hold back a little more.
    """
    if count <= 0:
        return set()
    groups: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        groups.setdefault(key, []).append(index)
    order = list(groups.values())
    random.Random(seed).shuffle(order)
    chosen: list[int] = []
    for group in order:
        if len(chosen) + len(group) <= count:
            chosen.extend(group)
        if len(chosen) == count:
            break
    if not chosen and order:
        chosen = min(order, key=len)
    return set(chosen)
