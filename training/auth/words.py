"""The words a person is found by, and the words of what HR types into a search box (pure).

A search finds the people who have, for every word typed, a word that starts with it: "pat" finds "Patel" and
"Anna Patel-Smith", "ann pat" finds her too. Words are folded the same way on both sides (lower case, accents
and other marks removed, a few letters that have no decomposition spelled out), so "jose" finds "José" and
"STRASSE" finds "Straße". Kept as rows (`PersonWord`) with an index, a search reads a range of that index
instead of every name.
"""

import re
import unicodedata

WORD_LENGTH = 64  # the column's length: longer words are cut, on both sides, so they still match by prefix
MAX_QUERY_WORDS = 4  # the longest words of a search are kept: they find fewer people
_WORD = re.compile(r"[^\W_]+")
# Letters with no decomposition into a base letter and a mark, spelled as people type them (the last: dotless i).
_NO_DECOMPOSITION = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "\u0131": "i"}
)


def folded(text: str) -> str:
    """`text` in lower case without accents: "Zoë Øster" -> "zoe oster"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_NO_DECOMPOSITION))
    return "".join(character for character in decomposed if not unicodedata.combining(character))


def _words(text: str) -> list[str]:
    return [word[:WORD_LENGTH] for word in _WORD.findall(folded(text))]


def _joined_parts(text: str) -> list[str]:
    """Each space-separated part with its punctuation left out: "O'Brien" -> "obrien", "A-1" -> "a1"."""
    return [joined for part in text.split() if len(joined := "".join(_words(part))) > 0]


def words_of(name: str, email: str, employee_id: str | None) -> set[str]:
    """The words a person is found by: those of their name, email and employee id, and each hyphenated or
    apostrophed part of the name and the id written together."""
    found = set(_words(name)) | set(_words(email))
    found |= {part[:WORD_LENGTH] for part in _joined_parts(name)}
    if employee_id:
        found |= set(_words(employee_id)) | {part[:WORD_LENGTH] for part in _joined_parts(employee_id)}
    return found


def query_words(text: str) -> list[str]:
    """The words of a search, each to be the start of one of a person's words: at most MAX_QUERY_WORDS, the
    longest, without one that starts another (it adds nothing). No words (only punctuation): nobody matches."""
    unique = sorted(set(_words(text)), key=lambda word: (-len(word), word))
    kept: list[str] = []
    for word in unique:
        if not any(longer.startswith(word) for longer in kept):
            kept.append(word)
    return kept[:MAX_QUERY_WORDS]


def prefix_end(word: str) -> str:
    """The first string after every string that starts with `word`, in code point order: `word` with its last
    character raised by one ("pat" -> "pau"). `word >= w AND word < prefix_end(w)` is a prefix search an
    index answers on any database (the column compares by code point: binary on SQLite, "C" on PostgreSQL)."""
    return word[:-1] + chr(ord(word[-1]) + 1)
