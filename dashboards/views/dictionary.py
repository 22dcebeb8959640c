"""The dictionary (数据字典): every "type" list of the club, edited by an admin.

Admins only. Every rule is in ``operational.services.dictionary`` (code format, unique codes,
both labels, codes never change, inactive items kept for old records but refused for new ones).
After each write the label cache of ``dashboards.i18n`` is cleared, so every page shows the new
labels at once (other processes within ``DICTIONARY_TTL_SECONDS``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from clubcrm.settings import get_settings
from dashboards.auth import require_page
from dashboards.feedback import show_error
from dashboards.i18n import current_locale, format_int, invalidate_dictionary_labels, t
from operational.db import session_scope
from operational.services import dictionary
from operational.services.common import ServiceError
from operational.services.dictionary import Category, Item

FLASH_KEY = "dictionary_flash"
CATEGORY_KEY = "dictionary_category"


def _category_name(category: Category) -> str:
    name = category.name_en if locale == "en_US" else category.name_zh
    return t(
        "dictionary.category_option",
        name=name,
        code=category.code,
        active=format_int(category.active_items),
        total=format_int(category.items),
    )


def _done(message: str) -> None:
    invalidate_dictionary_labels()
    st.session_state[FLASH_KEY] = message
    st.rerun()


def _items_frame(items: list[Item]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            t("dictionary.col.code"): [i.code for i in items],
            t("dictionary.col.label_zh"): [i.label_zh for i in items],
            t("dictionary.col.label_en"): [i.label_en for i in items],
            t("dictionary.col.active"): [
                t("dictionary.yes") if i.active else t("dictionary.no") for i in items
            ],
            t("dictionary.col.sort_order"): [i.sort_order for i in items],
            t("dictionary.col.parent_code"): [i.parent_code or "" for i in items],
        }
    )


def _edit_form(category: str, items: list[Item]) -> None:
    st.subheader(t("dictionary.edit.title"))
    labels = {i.code: f"{i.code} · {i.label_zh} / {i.label_en}" for i in items}
    code = st.selectbox(
        t("dictionary.edit.item"),
        list(labels),
        format_func=labels.__getitem__,
        key=f"dictionary_edit_pick_{category}",
    )
    item = next(i for i in items if i.code == code)
    prefix = f"dictionary_edit_{category}_{code}"
    with st.form(prefix):
        st.caption(t("dictionary.edit.code_fixed", code=code))
        zh_column, en_column = st.columns(2)
        label_zh = zh_column.text_input(
            t("dictionary.col.label_zh"), value=item.label_zh, key=f"{prefix}_zh"
        )
        label_en = en_column.text_input(
            t("dictionary.col.label_en"), value=item.label_en, key=f"{prefix}_en"
        )
        order_column, parent_column = st.columns(2)
        sort_order = order_column.number_input(
            t("dictionary.col.sort_order"),
            min_value=0,
            max_value=1_000_000,
            value=item.sort_order,
            step=10,
            key=f"{prefix}_order",
        )
        parent_code = parent_column.text_input(
            t("dictionary.col.parent_code"), value=item.parent_code or "", key=f"{prefix}_parent"
        )
        active = st.checkbox(
            t("dictionary.col.active"),
            value=item.active,
            help=t("dictionary.active_help"),
            key=f"{prefix}_active",
        )
        saved = st.form_submit_button(t("dictionary.edit.submit"), type="primary")
    if saved:
        try:
            with session_scope(url) as session:
                dictionary.update_item(
                    session,
                    actor,
                    category=category,
                    code=code,
                    label_zh=label_zh,
                    label_en=label_en,
                    sort_order=int(sort_order),
                    parent_code=parent_code,
                    active=active,
                )
        except ServiceError as error:
            show_error(error)
        else:
            _done(t("dictionary.edit.done", code=code))


def _add_form(category: str) -> None:
    with st.expander(t("dictionary.add.title"), icon=":material/add:"):
        prefix = f"dictionary_add_{category}"
        with st.form(prefix):
            code = st.text_input(
                t("dictionary.col.code"), help=t("dictionary.add.code_help"), key=f"{prefix}_code"
            )
            zh_column, en_column = st.columns(2)
            label_zh = zh_column.text_input(t("dictionary.col.label_zh"), key=f"{prefix}_zh")
            label_en = en_column.text_input(t("dictionary.col.label_en"), key=f"{prefix}_en")
            order_column, parent_column = st.columns(2)
            sort_order = order_column.number_input(
                t("dictionary.add.sort_order"),
                min_value=0,
                max_value=1_000_000,
                value=None,
                step=10,
                key=f"{prefix}_order",
            )
            parent_code = parent_column.text_input(
                t("dictionary.col.parent_code"), key=f"{prefix}_parent"
            )
            added = st.form_submit_button(t("dictionary.add.submit"), type="primary")
        if added:
            try:
                with session_scope(url) as session:
                    item = dictionary.add_item(
                        session,
                        actor,
                        category=category,
                        code=code,
                        label_zh=label_zh,
                        label_en=label_en,
                        sort_order=None if sort_order is None else int(sort_order),
                        parent_code=parent_code,
                    )
                    done = t("dictionary.add.done", code=item.code)
            except ServiceError as error:
                show_error(error)
            else:
                _done(done)


# -- the page ------------------------------------------------------------------------------------
actor = require_page("dictionary")
url = get_settings().database_url
locale = current_locale()
st.title(t("dictionary.title"))
st.caption(t("dictionary.help"))
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.success(flash, icon=":material/check_circle:")

with session_scope(url) as session:
    categories = {c.code: c for c in dictionary.list_categories(session)}
# labels made now: a format_func may also run outside the page's run (e.g. in AppTest)
category_labels = {code: _category_name(c) for code, c in categories.items()}
category = st.selectbox(
    t("dictionary.category"),
    list(categories),
    format_func=category_labels.__getitem__,
    key=CATEGORY_KEY,
)
with session_scope(url) as session:
    items = dictionary.list_items(session, category)
if items:
    st.dataframe(_items_frame(items), hide_index=True, key=f"dictionary_items_{category}")
    _edit_form(category, items)
else:
    st.info(t("dictionary.empty"), icon=":material/inbox:")
_add_form(category)
