"""Did-you-mean hints, shared by unknown keys, store names, access words, timezones and handlers.

difflib's ratio is enough for typos in short identifiers; a case-insensitive exact match (e.g.
`Triggers`) is always offered first because it is the most likely intent.
"""

from __future__ import annotations

import difflib
from typing import Iterable


def closest(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    options = [c for c in choices if isinstance(c, str)]
    for option in options:
        if option.lower() == word.lower() and option != word:
            return option
    found = difflib.get_close_matches(word, options, n=1, cutoff=cutoff)
    return found[0] if found else None


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    match = closest(word, choices)
    return f"did you mean '{match}'?" if match else None


def one_of(choices: Iterable[str]) -> str:
    """`'a', 'b' or 'c'` (or just `'a'`)."""
    quoted = [f"'{c}'" for c in choices]
    if len(quoted) == 1:
        return quoted[0]
    return "one of " + ", ".join(quoted[:-1]) + " or " + quoted[-1]
