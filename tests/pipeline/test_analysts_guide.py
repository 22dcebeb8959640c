"""The SQL examples of docs/analysts.md run against a real published warehouse."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from clubcrm.published import run_query

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "analysts.md"


def _examples() -> list[str]:
    blocks = re.findall(r"```sql\n(.*?)```", GUIDE.read_text(encoding="utf-8"), flags=re.S)
    statements = [s.strip() for block in blocks for s in block.split(";")]
    return [
        s for s in statements if s and not all(line.startswith("--") for line in s.splitlines())
    ]


def test_the_guide_has_examples() -> None:
    assert len(_examples()) >= 3


@pytest.mark.parametrize("statement", _examples(), ids=lambda s: s.splitlines()[0][:40])
def test_each_example_answers_on_the_demo_warehouse(demo_env, statement: str) -> None:
    frame = run_query(demo_env, statement)
    assert len(frame) > 0
