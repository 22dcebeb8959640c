"""New application (入会申请): a clerk types an applicant's data; the service checks and stores it.

Everything is decided by ``operational.services.applications.submit_application`` (validation,
the exact-ID rule); this page only collects the fields, shows each problem under its field in
the reader's language and keeps what was typed, or shows the outcome and clears the form for the
next applicant. Channel and source sit outside the form so that the source list follows the
chosen channel at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from clubcrm.settings import get_settings
from dashboards.auth import require_page
from dashboards.feedback import problems_by_field, show_error
from dashboards.i18n import current_locale, dictionary_label, t
from operational.db import session_scope
from operational.services.applications import SubmitResult, submit_application
from operational.services.common import Actor, ServiceError, ValidationFailed, dictionary_codes
from operational.validation import CONSENT_CHANNELS

#: Channels a clerk does not enter by hand (applications made by the system).
AUTOMATIC_CHANNELS = ("purchase",)
TEXT_FIELDS = ("name", "id_number", "mobile", "home_phone", "email", "address")
KEY = "apply_"  # widget keys: apply_<field>
ERRORS_KEY = "apply_errors"  # the last refusal (ServiceError), shown until the next submit
OUTCOME_KEY = "apply_outcome"  # (SubmitResult, name) of the last submit, shown until the next


@dataclass(frozen=True)
class Options:
    channels: list[str]
    sources: dict[str, list[str]]  # channel -> its sources
    regions: list[str]
    tiers: list[str]


def load_options(database_url: str) -> Options:
    """The dictionary's choices for the form (active items, the admin's order)."""
    with session_scope(database_url) as session:
        channels = [
            c
            for c in dictionary_codes(session, "application_channel")
            if c not in AUTOMATIC_CHANNELS
        ]
        sources = {
            channel: dictionary_codes(session, "application_source", parent=channel)
            for channel in channels
        }
        return Options(
            channels=channels,
            sources=sources,
            regions=dictionary_codes(session, "region"),
            tiers=dictionary_codes(session, "tier"),
        )


def form_data() -> dict[str, object]:
    """The person fields as typed (the service cleans and checks them)."""
    state = st.session_state
    data: dict[str, object] = {name: state.get(KEY + name) or None for name in TEXT_FIELDS}
    data["region"] = state.get(KEY + "region") or None
    data["requested_tier"] = state.get(KEY + "requested_tier") or None
    data["consent_channels"] = [c for c in CONSENT_CHANNELS if state.get(f"{KEY}consent_{c}")]
    return data


def clear_form() -> None:
    """Empty the person fields for the next applicant (channel and source stay)."""
    for name in TEXT_FIELDS:
        st.session_state[KEY + name] = ""
    st.session_state[KEY + "region"] = None
    for channel in CONSENT_CHANNELS:
        st.session_state[f"{KEY}consent_{channel}"] = False


def submit(database_url: str, actor: Actor) -> None:
    """The form's callback: runs before the page, so the page shows the result at once."""
    st.session_state.pop(ERRORS_KEY, None)
    st.session_state.pop(OUTCOME_KEY, None)
    channel = st.session_state.get(KEY + "channel")
    source = st.session_state.get(KEY + "source") or None
    try:
        with session_scope(database_url) as session:
            result = submit_application(
                session, actor, form_data(), channel=channel or "", source=source
            )
    except ServiceError as error:
        st.session_state[ERRORS_KEY] = error
        return
    st.session_state[OUTCOME_KEY] = (result, form_data()["name"] or "")
    clear_form()


def show_outcome(result: SubmitResult, name: str) -> None:
    if result.status == "pending":
        st.success(t("apply.pending", label=result.label, name=name), icon=":material/check:")
    elif result.status == "already_member":
        st.info(
            t("apply.already_member", label=result.label, member_no=result.member_no, name=name),
            icon=":material/badge:",
        )
    else:
        filled = ", ".join(t(f"field.{f}") for f in result.filled_fields)
        st.success(
            t(
                "apply.linked",
                label=result.label,
                member_no=result.member_no,
                name=name,
                filled=t("apply.linked_filled", fields=filled) if filled else "",
            ),
            icon=":material/link:",
        )


def _field_errors(errors: dict[str, list[str]], field: str) -> None:
    for message in errors.pop(field, []):
        st.error(message, icon=":material/error:")


actor = require_page("apply")
settings = get_settings()
locale = current_locale()
st.title(t("apply.title"))

try:
    options = load_options(settings.database_url)
except SQLAlchemyError as exc:
    reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    st.error(t("apply.db_unavailable", error=reason), icon=":material/error:")
    st.stop()
if not options.channels:
    st.error(t("apply.no_channels"))
    st.stop()

outcome: tuple[SubmitResult, str] | None = st.session_state.get(OUTCOME_KEY)
if outcome is not None:
    show_outcome(*outcome)
refusal: ServiceError | None = st.session_state.get(ERRORS_KEY)
errors: dict[str, list[str]] = {}
if isinstance(refusal, ValidationFailed) and refusal.problems:
    st.warning(t("apply.fix"), icon=":material/edit:")
    errors = problems_by_field(refusal)
elif refusal is not None:
    show_error(refusal)

channel_column, source_column = st.columns(2)
with channel_column:
    channel = st.selectbox(
        t("apply.channel"),
        options.channels,
        format_func=lambda code: dictionary_label("application_channel", code, locale),
        key=KEY + "channel",
    )
    _field_errors(errors, "channel")
sources = options.sources.get(channel or "", [])
with source_column:
    if sources:
        st.selectbox(
            t("apply.source"),
            sources,
            format_func=lambda code: dictionary_label("application_source", code, locale),
            key=KEY + "source",
        )
    else:
        st.session_state.pop(KEY + "source", None)
    _field_errors(errors, "source")

with st.form("apply_form", clear_on_submit=False, enter_to_submit=False):
    left, right = st.columns(2)
    with left:
        st.text_input(t("apply.name"), key=KEY + "name")
        _field_errors(errors, "name")
        st.text_input(t("apply.id_number"), key=KEY + "id_number", max_chars=25)
        _field_errors(errors, "id_number")
        for derived in ("gender", "birthday"):
            _field_errors(errors, derived)
        st.text_input(t("apply.mobile"), key=KEY + "mobile", max_chars=30)
        _field_errors(errors, "mobile")
        st.text_input(t("apply.home_phone"), key=KEY + "home_phone", max_chars=30)
        _field_errors(errors, "home_phone")
    with right:
        st.text_input(t("apply.email"), key=KEY + "email")
        _field_errors(errors, "email")
        st.text_input(t("apply.address"), key=KEY + "address")
        _field_errors(errors, "address")
        st.selectbox(
            t("apply.region"),
            options.regions,
            index=None,
            format_func=lambda code: dictionary_label("region", code, locale),
            key=KEY + "region",
        )
        _field_errors(errors, "region")
        st.selectbox(
            t("apply.requested_tier"),
            options.tiers,
            format_func=lambda code: dictionary_label("tier", code, locale),
            key=KEY + "requested_tier",
        )
        _field_errors(errors, "requested_tier")
    st.caption(t("apply.consent"))
    for column, consent in zip(st.columns(len(CONSENT_CHANNELS)), CONSENT_CHANNELS, strict=True):
        column.checkbox(t(f"apply.consent.{consent}"), key=f"{KEY}consent_{consent}")
    _field_errors(errors, "consent_channels")
    for field, messages in errors.items():  # anything not shown under a field above
        for message in messages:
            st.error(f"{t(f'field.{field}')}: {message}", icon=":material/error:")
    st.form_submit_button(
        t("apply.submit"),
        type="primary",
        icon=":material/send:",
        key="apply_submit",
        on_click=submit,
        args=(settings.database_url, actor),
    )
