"""The dictionary (数据字典): every "type" list of the club, kept as data an admin edits.

Rules (DOMAIN.md "Dictionary"; issue 5):

- The categories are those of :data:`CATEGORIES` (each with a Chinese and an English name) plus
  any other category already present in ``dictionary_items``. Each item has a code, a Chinese and
  an English label, an active flag, a sort order and an optional parent code.
- Only admins change the dictionary (:func:`add_item`, :func:`update_item`); anyone may read it.
- A new code is lower-case letters, digits and ``_`` (at most 40 characters; region codes are
  digits), unique in its category (``dictionary_code_taken``). Both labels are required (at most
  100 characters each). A new item goes last in its category unless a sort order is given.
- Codes never change: members, cards, complaints… store the code. Only the labels, the sort
  order, the parent code and the active flag are edited.
- Deactivating an item keeps every record that uses it valid (its label still shows), but new
  entries refuse it: ``common.dictionary_codes`` / ``check_code`` offer and accept active items
  only.
- Every write reports all its problems at once (:class:`ValidationFailed`) and changes nothing
  then. Pages that cache labels (``dashboards.i18n``) must be told after a write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from operational.db import begin_sqlite_transaction
from operational.models import DictionaryItem
from operational.services.common import (
    Actor,
    NotFound,
    Problem,
    ValidationFailed,
    require_role,
)
from operational.validation import normalise_text

#: Who may change the dictionary.
ADMIN_ROLES = frozenset({"admin"})
#: Known categories: code -> (Chinese name, English name), in the order an admin reads them.
CATEGORIES: dict[str, tuple[str, str]] = {
    "application_channel": ("入会渠道", "Application channels"),
    "application_source": ("入会来源", "Application sources"),
    "exit_type": ("退会类型", "Exit types"),
    "card_type": ("会员卡类型", "Card types"),
    "tier": ("会员等级", "Tiers"),
    "complaint_channel": ("投诉渠道", "Complaint channels"),
    "complaint_type": ("投诉类型", "Complaint types"),
    "care_channel": ("关怀渠道", "Care channels"),
    "activity_type": ("活动类型", "Activity types"),
    "merchant_type": ("商家类型", "Merchant types"),
    "notice_method": ("通知方式", "Notice methods"),
    "sales_channel": ("销售渠道", "Sales channels"),
    "region": ("地区", "Regions"),
}
CODE_PATTERN = re.compile(r"[a-z0-9_]{1,40}")
LABEL_MAX = 100
_UNSET: object = object()


@dataclass(frozen=True)
class Category:
    code: str
    name_zh: str
    name_en: str
    items: int  # all items
    active_items: int


@dataclass(frozen=True)
class Item:
    id: int
    category: str
    code: str
    label_zh: str
    label_en: str
    active: bool
    sort_order: int
    parent_code: str | None


def list_categories(session: Session) -> list[Category]:
    """The known categories (in :data:`CATEGORIES` order, also when empty) and then any other
    category found in the table, by code, with their item counts."""
    counts = {
        category: (int(total), int(active or 0))
        for category, total, active in session.execute(
            select(
                DictionaryItem.category,
                func.count(),
                func.sum(case((DictionaryItem.active.is_(True), 1), else_=0)),
            ).group_by(DictionaryItem.category)
        ).all()
    }
    codes = list(CATEGORIES) + sorted(set(counts) - set(CATEGORIES))
    return [
        Category(
            code=code,
            name_zh=CATEGORIES.get(code, (code, code))[0],
            name_en=CATEGORIES.get(code, (code, code))[1],
            items=counts.get(code, (0, 0))[0],
            active_items=counts.get(code, (0, 0))[1],
        )
        for code in codes
    ]


def list_items(session: Session, category: str, *, include_inactive: bool = True) -> list[Item]:
    """The items of a category in the admin's sort order (then by code)."""
    statement = select(DictionaryItem).where(DictionaryItem.category == category)
    if not include_inactive:
        statement = statement.where(DictionaryItem.active.is_(True))
    return [
        _item(row)
        for row in session.scalars(
            statement.order_by(DictionaryItem.sort_order, DictionaryItem.code)
        )
    ]


def all_labels(session: Session) -> dict[tuple[str, str], tuple[str, str]]:
    """Every item's labels, active or not: (category, code) -> (Chinese, English). For pages
    that show the labels of stored codes."""
    return {
        (category, code): (label_zh, label_en)
        for category, code, label_zh, label_en in session.execute(
            select(
                DictionaryItem.category,
                DictionaryItem.code,
                DictionaryItem.label_zh,
                DictionaryItem.label_en,
            )
        ).all()
    }


def add_item(
    session: Session,
    actor: Actor,
    *,
    category: str,
    code: str,
    label_zh: str,
    label_en: str,
    sort_order: int | None = None,
    parent_code: str | None = None,
    active: bool = True,
) -> Item:
    """A new item of ``category`` (admin only); see the module docstring for the rules."""
    require_role(actor, ADMIN_ROLES, "change the dictionary")
    begin_sqlite_transaction(session, write_lock=True)
    problems: list[Problem] = []
    category_code = (normalise_text(category) or "").lower()
    if not category_code:
        problems.append(Problem("dictionary_category", "required", "choose a category"))
    elif not CODE_PATTERN.fullmatch(category_code):
        problems.append(_code_format("dictionary_category", category_code))
    code_text = normalise_text(code) or ""
    if not code_text:
        problems.append(Problem("dictionary_code", "required", "enter the item's code"))
    elif not CODE_PATTERN.fullmatch(code_text):
        problems.append(_code_format("dictionary_code", code_text))
    elif category_code and _find(session, category_code, code_text) is not None:
        problems.append(_code_taken(category_code, code_text))
    zh, en = _labels(label_zh, label_en, problems)
    parent = _parent(parent_code, problems)
    order = _sort_order(sort_order, problems) if sort_order is not None else None
    if problems:
        raise ValidationFailed(problems)
    if order is None:
        last = session.scalar(
            select(func.max(DictionaryItem.sort_order)).where(
                DictionaryItem.category == category_code
            )
        )
        order = (last or 0) + 10
    row = DictionaryItem(
        category=category_code,
        code=code_text,
        label_zh=zh,
        label_en=en,
        active=bool(active),
        sort_order=order,
        parent_code=parent,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise ValidationFailed([_code_taken(category_code, code_text)]) from None
    return _item(row)


def update_item(
    session: Session,
    actor: Actor,
    *,
    category: str,
    code: str,
    label_zh: str | object = _UNSET,
    label_en: str | object = _UNSET,
    sort_order: int | object = _UNSET,
    parent_code: str | None | object = _UNSET,
    active: bool | object = _UNSET,
) -> Item:
    """Edit an item's labels, sort order, parent code or active flag (admin only); arguments
    left out stay as they are. The code itself never changes."""
    require_role(actor, ADMIN_ROLES, "change the dictionary")
    begin_sqlite_transaction(session, write_lock=True)
    row = session.scalar(
        select(DictionaryItem)
        .where(DictionaryItem.category == category, DictionaryItem.code == code)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise NotFound(
            f"the dictionary has no item {code!r} in {category!r}",
            code="not_found",
            field="dictionary_code",
        )
    problems: list[Problem] = []
    zh, en = _labels(
        row.label_zh if label_zh is _UNSET else label_zh,
        row.label_en if label_en is _UNSET else label_en,
        problems,
    )
    parent = row.parent_code if parent_code is _UNSET else _parent(parent_code, problems)
    order = row.sort_order if sort_order is _UNSET else _sort_order(sort_order, problems)
    if problems:
        raise ValidationFailed(problems)
    row.label_zh, row.label_en = zh, en
    row.parent_code = parent
    row.sort_order = order
    if active is not _UNSET:
        row.active = bool(active)
    session.flush()
    return _item(row)


def deactivate_item(session: Session, actor: Actor, *, category: str, code: str) -> Item:
    """Retire an item (admin only): existing records keep it, new entries refuse it."""
    return update_item(session, actor, category=category, code=code, active=False)


# -- helpers -------------------------------------------------------------------------------------
def _item(row: DictionaryItem) -> Item:
    return Item(
        id=row.id,
        category=row.category,
        code=row.code,
        label_zh=row.label_zh,
        label_en=row.label_en,
        active=bool(row.active),
        sort_order=row.sort_order,
        parent_code=row.parent_code,
    )


def _find(session: Session, category: str, code: str) -> int | None:
    return session.scalar(
        select(DictionaryItem.id).where(
            DictionaryItem.category == category, DictionaryItem.code == code
        )
    )


def _labels(label_zh: object, label_en: object, problems: list[Problem]) -> tuple[str, str]:
    cleaned = []
    for field, value, what in (
        ("dictionary_label_zh", label_zh, "the Chinese label"),
        ("dictionary_label_en", label_en, "the English label"),
    ):
        text = normalise_text(value) or ""
        if not text:
            problems.append(Problem(field, "required", f"enter {what}"))
        elif len(text) > LABEL_MAX:
            problems.append(
                Problem(
                    field,
                    "too_long",
                    f"{len(text)} characters is too long, at most {LABEL_MAX} fit — shorten it",
                    {"length": len(text), "max": LABEL_MAX},
                )
            )
        cleaned.append(text)
    return cleaned[0], cleaned[1]


def _parent(value: object, problems: list[Problem]) -> str | None:
    text = normalise_text(value) or ""
    if not text:
        return None
    if not CODE_PATTERN.fullmatch(text):
        problems.append(_code_format("dictionary_parent_code", text))
    return text


def _sort_order(value: object, problems: list[Problem]) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1_000_000:
        problems.append(
            Problem(
                "dictionary_sort_order",
                "invalid_number",
                f"the sort order is a whole number from 0 to 1000000, got {value!r}",
            )
        )
        return 0
    return value


def _code_format(field: str, code: str) -> Problem:
    return Problem(
        field,
        "dictionary_code_format",
        f"{code!r} is not a code: use 1 to 40 lower-case letters, digits or _",
        {"value": code},
    )


def _code_taken(category: str, code: str) -> Problem:
    return Problem(
        "dictionary_code",
        "dictionary_code_taken",
        f"{category} already has the code {code!r}; codes never change — edit that item instead",
        {"value": code, "category": category},
    )
