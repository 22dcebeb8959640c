"""Review queue (入会审核): reviewers decide pending applications.

The queue (oldest first, with the best match), one application with its similar members and
pending applications, and the decision: merge into one member and/or with pending applications,
or approve a new member, optionally issuing the main card and recording the notification; or
reject with a reason. Every rule is ``operational.services.applications``'s (``decide``,
``reject``); the page passes the version it showed, so a decision taken meanwhile by another
reviewer is refused and explained.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from clubcrm.settings import get_settings
from dashboards.auth import require_page
from dashboards.feedback import show_error
from dashboards.i18n import (
    current_locale,
    dictionary_label,
    format_date,
    format_datetime,
    format_int,
    t,
)
from operational.db import session_scope
from operational.services.applications import (
    ApplicationView,
    Decision,
    QueueItem,
    application_label,
    decide,
    get_application,
    reject,
    review_queue,
)
from operational.services.common import Actor, Conflict, ServiceError, dictionary_codes

QUEUE_LIMIT = 200
PICK_KEY = "review_pick"
FLASH_KEY = "review_flash"  # ("success" | "error" | "warning", text) after an action
REFUSAL_KEY = "review_refusal"  # a ServiceError to show with show_error
SUPPLEMENT_FIELDS = ("mobile", "home_phone", "address")


def _load(database_url: str, picked: int | None) -> tuple[list[QueueItem], ApplicationView | None]:
    with session_scope(database_url) as session:
        queue = review_queue(session, limit=QUEUE_LIMIT)
        ids = [item.application_id for item in queue]
        chosen = picked if picked in ids else (ids[0] if ids else None)
        view = get_application(session, chosen) if chosen is not None else None
        return queue, view


def _choices(database_url: str) -> tuple[list[str], list[str]]:
    """Main card types and notification methods of the dictionary."""
    with session_scope(database_url) as session:
        card_types = dictionary_codes(session, "card_type", parent="main")
        return card_types, dictionary_codes(session, "notice_method")


def _key(application_id: int, name: str) -> str:
    return f"review_{application_id}_{name}"


def _conflict_text(error: Conflict, label: str) -> str:
    if error.code == "already_decided" and error.params.get("decided_by"):
        status = error.params.get("status") or ""
        result = t(f"review.status.{status}") if status else ""
        if error.params.get("member_no"):
            result = f"{result} {error.params['member_no']}".strip()
        return t(
            "review.already_decided",
            label=label,
            who=error.params["decided_by"],
            when=format_datetime(error.params.get("decided_at")),
            result=result,
        )
    if error.code == "already_decided":
        return t("review.already_decided_now", label=label)
    if error.code == "changed":
        return t("review.changed", label=label)
    return ""


def _refused(error: ServiceError, application_id: int) -> None:
    text = (
        _conflict_text(error, application_label(application_id))
        if isinstance(error, Conflict)
        else ""
    )
    if text:
        st.session_state[FLASH_KEY] = ("error", text)
    else:
        st.session_state[REFUSAL_KEY] = error


def _decision_text(decision: Decision, label: str) -> str:
    key = "review.merged" if decision.status == "merged" else "review.approved"
    parts = [t(key, label=label, member_no=decision.member_no)]
    if decision.card_no:
        parts.append(t("review.card_issued", card_no=decision.card_no))
    if decision.notification_status:
        parts.append(t(f"review.notice.{decision.notification_status}"))
    return " ".join(parts)


def on_decide(database_url: str, actor: Actor, view: ApplicationView) -> None:
    """The Approve button's callback (runs before the page: the queue then shows the result)."""
    state = st.session_state
    state.pop(FLASH_KEY, None)
    state.pop(REFUSAL_KEY, None)
    aid = view.application_id
    members = [c.label for c in view.candidates if c.kind == "member" and state.get(_pick(aid, c))]
    merge_ids = [
        c.id for c in view.candidates if c.kind == "application" and state.get(_pick(aid, c))
    ]
    if len(members) > 1:
        state[FLASH_KEY] = ("error", t("review.too_many_members", count=len(members)))
        return
    member_no = members[0] if members else None
    supplement = None
    if merge_ids and member_no is None:
        supplement = {f: state.get(_key(aid, f)) or None for f in SUPPLEMENT_FIELDS}
    issue_card = bool(state.get(_key(aid, "issue_card")))
    method = state.get(_key(aid, "notify_method")) or None
    try:
        with session_scope(database_url) as session:
            decision = decide(
                session,
                actor,
                aid,
                expected_version=view.version,
                member_no=member_no,
                merge_application_ids=merge_ids,
                supplement=supplement,
                issue_main_card=issue_card,
                card_type=state.get(_key(aid, "card_type")) if member_no is None else None,
                notify_method=method,
                notified=bool(state.get(_key(aid, "notified"))) if method else False,
                comment=state.get(_key(aid, "comment")) or None,
            )
    except ServiceError as error:
        _refused(error, aid)
        return
    state[FLASH_KEY] = ("success", _decision_text(decision, view.label))


def on_reject(database_url: str, actor: Actor, view: ApplicationView) -> None:
    state = st.session_state
    state.pop(FLASH_KEY, None)
    state.pop(REFUSAL_KEY, None)
    try:
        with session_scope(database_url) as session:
            reject(
                session,
                actor,
                view.application_id,
                expected_version=view.version,
                reason=state.get(_key(view.application_id, "reject_reason")) or "",
            )
    except ServiceError as error:
        _refused(error, view.application_id)
        return
    state[FLASH_KEY] = ("success", t("review.rejected", label=view.label))


def _pick(application_id: int, candidate) -> str:
    return _key(application_id, f"pick_{candidate.kind}_{candidate.id}")


def _score(value: float | None) -> str:
    return "" if value is None else format_int(value)


def _reasons(reasons) -> str:
    return (
        "、".join(t(f"reason.{r}") for r in reasons)
        if locale == "zh_CN"
        else ", ".join(t(f"reason.{r}") for r in reasons)
    )


def _queue_table(queue: list[QueueItem]) -> None:
    frame = pd.DataFrame(
        {
            t("review.col.application"): [q.label for q in queue],
            t("review.col.submitted_at"): [format_datetime(q.submitted_at) for q in queue],
            t("col.name"): [q.name for q in queue],
            t("col.mobile"): [q.mobile_masked or "" for q in queue],
            t("review.col.channel"): [
                dictionary_label("application_channel", q.channel, locale) for q in queue
            ],
            t("review.col.submitted_by"): [q.submitted_by or "" for q in queue],
            t("review.col.best"): [q.best_label or "" for q in queue],
            t("review.col.score"): [_score(q.best_score) for q in queue],
            t("review.col.reason"): [
                t(f"reason.{q.best_reason}") if q.best_reason else "" for q in queue
            ],
        }
    )
    st.dataframe(frame, hide_index=True, key="review_queue")


def _details(view: ApplicationView) -> None:
    st.subheader(t("review.details", label=view.label, name=view.name))
    if view.is_automatic:
        st.caption(t("review.automatic"))
    fields = {
        t("review.col.channel"): " / ".join(
            x
            for x in (
                dictionary_label("application_channel", view.channel, locale),
                dictionary_label("application_source", view.source, locale),
            )
            if x
        ),
        t("detail.id_number"): view.id_number_masked or "",
        t("detail.gender"): t(f"gender.{view.gender}") if view.gender else "",
        t("detail.birthday"): format_date(view.birthday),
        t("col.mobile"): view.mobile_masked or "",
        t("detail.home_phone"): view.home_phone_masked or "",
        t("detail.email"): view.email or "",
        t("detail.address"): view.address or "",
        t("col.region"): dictionary_label("region", view.region, locale),
        t("field.requested_tier"): dictionary_label("tier", view.requested_tier, locale),
        t("review.consents"): ", ".join(t(f"apply.consent.{c}") for c in view.consent_channels),
        t("review.col.submitted_at"): format_datetime(view.submitted_at),
        t("review.col.submitted_by"): view.submitted_by or "",
        t("review.notes"): view.notes or "",
    }
    st.dataframe(
        pd.DataFrame({t("col.field"): list(fields), t("col.value"): list(fields.values())}),
        hide_index=True,
        key=f"review_details_{view.application_id}",
    )


def _candidates(view: ApplicationView) -> tuple[bool, bool]:
    """The candidates with a tick box each; returns (a member ticked, an application ticked)."""
    st.markdown(f"**{t('review.candidates')}**")
    if not view.candidates:
        st.info(t("review.no_candidates"))
        return False, False
    st.caption(t("review.choose_hint"))
    header = st.columns([1, 2, 2, 2, 2, 1, 4])
    for column, label in zip(
        header,
        [
            "",
            t("review.col.kind"),
            t("review.col.label"),
            t("col.name"),
            t("col.mobile"),
            t("review.col.score"),
            t("review.col.reasons"),
        ],
        strict=True,
    ):
        column.caption(label)
    member_ticked = application_ticked = False
    for candidate in view.candidates:
        row = st.columns([1, 2, 2, 2, 2, 1, 4])
        ticked = row[0].checkbox(
            candidate.label, key=_pick(view.application_id, candidate), label_visibility="collapsed"
        )
        row[1].write(t(f"review.kind.{candidate.kind}"))
        status = (
            t(f"status.{candidate.status}")
            if candidate.kind == "member"
            else t(f"review.status.{candidate.status}")
        )
        row[2].write(f"{candidate.label} ({status})")
        row[3].write(candidate.name)
        row[4].write(candidate.mobile_masked or "")
        row[5].write(_score(candidate.score))
        row[6].write(_reasons(candidate.reasons))
        if ticked and candidate.kind == "member":
            member_ticked = True
        elif ticked:
            application_ticked = True
    return member_ticked, application_ticked


def _decision_form(view: ApplicationView, card_types: list[str], methods: list[str]) -> None:
    aid = view.application_id
    member_ticked, application_ticked = _candidates(view)
    if application_ticked and not member_ticked:
        st.markdown(f"**{t('review.supplement')}**")
        columns = st.columns(3)
        for column, field in zip(columns, SUPPLEMENT_FIELDS, strict=True):
            column.text_input(t(f"field.{field}"), key=_key(aid, field))
    card_column, type_column = st.columns(2)
    card_column.checkbox(t("review.issue_card"), value=True, key=_key(aid, "issue_card"))
    if not member_ticked and card_types:
        default = view.requested_tier if view.requested_tier in card_types else card_types[0]
        type_column.selectbox(
            t("review.card_type"),
            card_types,
            index=card_types.index(default),
            format_func=lambda code: dictionary_label("card_type", code, locale),
            key=_key(aid, "card_type"),
        )
    method_column, reached_column = st.columns(2)
    labels = {"": t("review.notify_none")} | {
        code: dictionary_label("notice_method", code, locale) for code in methods
    }
    method_column.selectbox(
        t("review.notify_method"),
        list(labels),
        format_func=labels.__getitem__,
        key=_key(aid, "notify_method"),
    )
    reached_column.checkbox(t("review.notified"), key=_key(aid, "notified"))
    st.text_area(t("review.comment"), key=_key(aid, "comment"), height=80)
    st.button(
        t("review.decide"),
        type="primary",
        icon=":material/how_to_reg:",
        key="review_decide",
        on_click=on_decide,
        args=(settings.database_url, actor, view),
    )
    st.divider()
    reason_column, button_column = st.columns([4, 1], vertical_alignment="bottom")
    reason_column.text_input(t("review.reject_reason"), key=_key(aid, "reject_reason"))
    button_column.button(
        t("review.reject"),
        icon=":material/block:",
        key="review_reject",
        on_click=on_reject,
        args=(settings.database_url, actor, view),
    )


actor = require_page("review")
settings = get_settings()
locale = current_locale()
st.title(t("review.title"))

# What the last action did (its callback ran before this page): shown once.
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    kind, text = flash
    getattr(st, kind)(text)
refusal = st.session_state.pop(REFUSAL_KEY, None)
if refusal is not None:
    show_error(refusal)

queue, view = _load(settings.database_url, st.session_state.get(PICK_KEY))
if not queue or view is None:
    st.info(t("review.empty"), icon=":material/inbox:")
    st.stop()

st.caption(t("review.queue_count", count=format_int(len(queue))))
_queue_table(queue)
labels = {q.application_id: f"{q.label} · {q.name}" for q in queue}
if st.session_state.get(PICK_KEY) not in labels:
    st.session_state[PICK_KEY] = view.application_id
st.selectbox(t("review.pick"), list(labels), format_func=labels.__getitem__, key=PICK_KEY)
_details(view)
card_types, methods = _choices(settings.database_url)
_decision_form(view, card_types, methods)
