"""Keys that make look-alike personal names and numbers comparable (review matching).

A clerk who hears a name on the phone types a character that sounds the same (张/章, 伟/玮).
``name_key`` is the toneless pinyin of each character, so homophones share one key; it is stored
beside the name on members and applications (indexed) so that review finds them without a scan.
Each character is read on its own (no phrase context), so the key of a name never depends on
which other names a dictionary happens to know: the demo generator and the services agree.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from pypinyin import Style, lazy_pinyin


def clean_name(name: str) -> str:
    """A name as stored: full-width forms folded (NFKC), inner and outer blanks removed.

    Chinese names carry no spaces; Latin names keep single spaces between words.
    """
    text = unicodedata.normalize("NFKC", name).strip()
    words = text.split()
    if all(_is_cjk(ch) for word in words for ch in word):
        return "".join(words)
    return " ".join(words)


@lru_cache(maxsize=65536)
def char_key(ch: str) -> str:
    """Toneless pinyin of one character; other characters lower-cased as they are."""
    if _is_cjk(ch):
        return lazy_pinyin(ch, style=Style.NORMAL, errors="default")[0]
    return ch.lower()


def name_key(name: str | None) -> str | None:
    """'章玮' and '张伟' -> 'zhang wei'; Latin names lower-cased word by word."""
    if not name:
        return None
    text = clean_name(name)
    parts: list[str] = []
    word = ""
    for ch in text:
        if _is_cjk(ch):
            if word:
                parts.append(word)
                word = ""
            parts.append(char_key(ch))
        elif ch.isspace():
            if word:
                parts.append(word)
                word = ""
        else:
            word += ch.lower()
    if word:
        parts.append(word)
    return " ".join(parts) or None


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" or ch == "\u3007"
