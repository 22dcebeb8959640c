"""Lists of card numbers a clerk pastes or uploads (for the Points page's batch adjustment).

Plain Python, testable without Streamlit (AppTest cannot drive ``st.file_uploader``).
"""

from __future__ import annotations

import re

from operational.services.cards import clean_card_no

_SEPARATORS = r"[\s,，、;；]+"


def card_numbers(text: str) -> list[str]:
    """Card numbers pasted one a line, or separated by commas (also 、，；) or blanks; cleaned,
    each once, in the order given."""
    seen: dict[str, None] = {}
    for part in re.split(_SEPARATORS, text):
        number = clean_card_no(part) if part else ""
        if number:
            seen.setdefault(number, None)
    return list(seen)


def uploaded_card_numbers(data: bytes) -> list[str]:
    """Card numbers of an uploaded text or CSV file: the first column of each line (UTF-8, with
    or without BOM, else GBK). A line whose first cell has no digit (a header such as
    ``card_no``) is skipped."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("gbk", errors="replace")
    numbers = []
    for line in text.splitlines():
        first = re.split(r"[,，\t;；]", line, maxsplit=1)[0].strip().strip('"').strip()
        if any(ch.isdigit() for ch in first):
            numbers.append(first)
    return card_numbers("\n".join(numbers))
