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

    The examples are visited starting with a plain `random.Random(seed).sample` of `count`, so a set without
    repeated replies is split exactly as that sample splits it, then the rest in a seeded order; each
    visited example's group is taken while it fits in `count`. When none fits (every group is larger),
    the smallest group is held back, so the split may hold back a little more.
    """
    if count <= 0 or not keys:
        return set()
    groups: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        groups.setdefault(key, []).append(index)
    rng = random.Random(seed)
    first = rng.sample(range(len(keys)), min(count, len(keys)))
    rest = sorted(set(range(len(keys))) - set(first))
    rng.shuffle(rest)
    chosen: set[int] = set()
    for index in first + rest:
        group = groups[keys[index]]
        if index not in chosen and len(chosen) + len(group) <= count:
            chosen.update(group)
        if len(chosen) == count:
            break
    return chosen or set(min(groups.values(), key=len))
