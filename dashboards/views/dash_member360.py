"""Member 360°: one member's profile, cards, points, purchases, activities, cares, complaints,
segments and prediction scores, found by member number or card number.

Read from the published warehouse, so personal data is masked there already (ID number and
mobile); analysts also see the name masked (DOMAIN.md: analysts see masked personal data).
"""

from __future__ import annotations

import streamlit as st

from dashboards.charts import data_table, format_percent, label
from dashboards.data import member360 as data
from dashboards.data.overview import publication
from dashboards.filters import load, publication_caption, start_page
from dashboards.i18n import format_date, format_int, t

PAGE = "dash_member360"
#: Roles that see the member's name in full (the others see it masked).
NAME_ROLES = frozenset({"manager", "admin"})

actor, settings, locale = start_page(PAGE)
st.title(t("dash.member360.title"))
publication_caption(*load(settings, publication))

with st.form(f"{PAGE}.search"):
    number = st.text_input(t("dash.member360.number"), key=f"{PAGE}.number")
    searched = st.form_submit_button(t("dash.member360.search"), icon=":material/search:")
if searched:
    st.session_state[f"{PAGE}.member_no"] = load(settings, data.find_member_no, number.strip())
    st.session_state[f"{PAGE}.asked"] = number.strip()
member_no = st.session_state.get(f"{PAGE}.member_no")
asked = st.session_state.get(f"{PAGE}.asked")
if not asked:
    st.info(t("dash.member360.hint"), icon=":material/info:")
    st.stop()
if member_no is None:
    st.warning(t("dash.member360.not_found", number=asked), icon=":material/search_off:")
    st.stop()
member = load(settings, data.load, member_no)
if member is None:
    st.warning(t("dash.member360.not_found", number=asked), icon=":material/search_off:")
    st.stop()

profile = member.profile
name = profile.get("member_name") or ""
if actor.role not in NAME_ROLES:
    name = data.mask_name(name)
st.subheader(f"{profile['member_no']} · {name}")
region = profile.get("region_name_en" if locale == "en_US" else "region_name_zh") or label(
    "region", profile.get("region"), locale
)
facts = [
    ("status", label("member_status", profile.get("status"), locale)),
    ("tier", label("tier", profile.get("tier"), locale)),
    ("region", region),
    ("gender", label("gender", profile.get("gender"), locale)),
    ("age_band", label("age_band", profile.get("age_band"), locale)),
    ("channel", label("application_channel", profile.get("channel"), locale)),
    ("joined_at", format_date(profile.get("joined_at"))),
    ("main_card_no", profile.get("main_card_no") or ""),
    ("id_number_masked", profile.get("id_number_masked") or ""),
    ("mobile_masked", profile.get("mobile_masked") or ""),
]
for row in (facts[:5], facts[5:]):
    for column, (key, value) in zip(st.columns(5), row, strict=True):
        column.markdown(f"**{t(f'dash.col.{key}')}**  \n{value or '–'}")
tiles = st.columns(4)
tiles[0].metric(
    t("dash.col.points_balance"), format_int(profile.get("points_balance")), border=True
)
tiles[1].metric(
    t("dash.col.points_pending"), format_int(profile.get("points_pending")), border=True
)
tiles[2].metric(t("dash.col.purchases"), format_int(profile.get("purchases_count")), border=True)
tiles[3].metric(t("dash.col.complaints"), format_int(profile.get("complaints_count")), border=True)

segments = member.segments
if segments:
    parts = [
        f"{t(f'dash.col.{key}')}: {label(key, segments[key], locale)}"
        for key in ("rfm_segment", "abc_class", "loyalty_stage", "value_trend")
        if segments.get(key) is not None
    ]
    st.markdown(" · ".join(parts))

st.markdown(f"#### {t('dash.member360.scores')}")
if not member.scores:
    st.caption(t("dash.predictions.none"))
else:
    columns = st.columns(len(member.scores))
    for column, (table, score) in zip(columns, member.scores.items(), strict=True):
        probability = score.get(data.PREDICTIONS[table])
        column.metric(
            t(f"dash.predictions.{table}"),
            format_percent(probability),
            help=t(
                "dash.member360.score_help",
                as_of=format_date(score.get("as_of")),
                version=score.get("model_version") or "",
            ),
            border=True,
        )
        reasons = score.get("top_reasons")
        if reasons is not None:
            from dashboards.data.predictions import reasons_text

            column.caption(reasons_text(reasons))

file = f"member_{profile['member_no']}"
tabs = st.tabs(
    [
        t(f"dash.member360.tab.{name}")
        for name in ("cards", "points", "purchases", "activities", "cares", "complaints")
    ]
)
histories = [
    (
        member.cards,
        [
            ("card_no", "text"),
            ("card_kind", "label:card_kind"),
            ("card_type", "label:card_type"),
            ("status", "label:card_status"),
            ("issued_at", "datetime"),
            ("expires_on", "date"),
            ("ended_at", "datetime"),
        ],
    ),
    (
        member.points,
        [
            ("posted_at", "datetime"),
            ("points", "int"),
            ("event_type", "label:event_type"),
            ("status", "label:point_status"),
            ("reference", "text"),
        ],
    ),
    (
        member.purchases,
        [
            ("purchase_no", "text"),
            ("purchased_at", "datetime"),
            ("product", "text"),
            ("channel", "label:sales_channel"),
            ("purchase_type", "label:purchase_type"),
            ("amount", "money"),
            ("paid_amount", "money"),
            ("salesperson", "text"),
        ],
    ),
    (
        member.activities,
        [
            ("activity_code", "text"),
            ("activity_name", "text"),
            ("activity_type", "label:activity_type"),
            ("attended_at", "datetime"),
            ("points_awarded", "int"),
        ],
    ),
    (
        member.cares,
        [
            ("care_title", "text"),
            ("care_trigger", "label:care_trigger"),
            ("contact_channel", "label:care_channel"),
            ("is_control", "bool"),
            ("contacted_at", "datetime"),
            ("responded_at", "datetime"),
        ],
    ),
    (
        member.complaints,
        [
            ("complaint_no", "text"),
            ("complaint_type", "label:complaint_type"),
            ("channel", "label:complaint_channel"),
            ("importance", "label:importance"),
            ("status", "label:complaint_status"),
            ("received_at", "datetime"),
            ("due_at", "datetime"),
            ("closed_at", "datetime"),
            ("is_overdue", "bool"),
        ],
    ),
]
names = ("cards", "points", "purchases", "activities", "cares", "complaints")
for tab, tab_name, (frame, spec) in zip(tabs, names, histories, strict=True):
    with tab:
        if len(frame) >= data.HISTORY_ROWS:
            st.caption(t("dash.member360.latest", count=data.HISTORY_ROWS))
        data_table(
            frame,
            spec,
            key=f"{PAGE}.{tab_name}",
            locale=locale,
            file_stem=f"{file}_{tab_name}",
            expanded=True,
            title=t("dash.table"),
        )
