"""Plotly figures, KPI tiles and data tables the dashboard pages share, formatted for the locale.

Managers read a chart at a glance: titles, axes and legends are in the reader's language (labels
from ``dashboards/catalogs/dashboards.py``), codes are shown by their names (dictionary labels,
or the catalogue's ``dash.value.<kind>.<code>``), months read as "2025年3月" or "Mar 2025", money
carries ¥ and thousands separators. Under each chart the same numbers are a table with CSV and
Excel downloads (headers and names in the reader's language, numbers left as numbers).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import partial

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboards.data.filtering import UNKNOWN, Kpi
from dashboards.i18n import (
    STRINGS,
    dictionary_label,
    format_date,
    format_datetime,
    format_int,
    format_money,
    t,
    translate,
)

#: Kinds of codes that are labelled from the admin-editable dictionary.
DICTIONARY_KINDS = {
    "tier",
    "region",
    "sales_channel",
    "application_channel",
    "application_source",
    "complaint_channel",
    "complaint_type",
    "care_channel",
    "activity_type",
    "card_type",
}
#: Plotly's month ticks, by locale (d3 time format).
MONTH_TICKS = {"zh_CN": "%Y年%-m月", "en_US": "%b %Y"}
#: Streamlit's (moment.js) month format in tables, by locale.
MONTH_COLUMN = {"zh_CN": "YYYY[年]M[月]", "en_US": "MMM YYYY"}


def ensure_catalog() -> None:
    """Merge ``dashboards/catalogs/dashboards.py`` into the labels if the catalogue list does not
    load it yet (``dashboards.catalogs.CATALOGS`` should name "dashboards"; until then, this)."""
    from dashboards.catalogs import CATALOGS
    from dashboards.catalogs import dashboards as catalog

    if "dashboards" in CATALOGS:
        return
    for locale, labels in catalog.STRINGS.items():
        for key, text in labels.items():
            STRINGS[locale].setdefault(key, text)


ensure_catalog()
ENGLISH_MONTHS = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)


# -- words ----------------------------------------------------------------------------------------
def has_label(key: str, locale: str) -> bool:
    return key in STRINGS.get(locale, {}) or key in STRINGS["zh_CN"]


def label(kind: str, code: object, locale: str) -> str:
    """The name of ``code`` (a tier, region, channel, status, segment…) in ``locale``."""
    if code is None or (isinstance(code, float) and pd.isna(code)):
        code = UNKNOWN
    code = str(code)
    if code == UNKNOWN:
        return translate("dash.value.unknown", locale)
    if kind in DICTIONARY_KINDS:
        return dictionary_label(kind, code, locale)
    key = f"dash.value.{kind}.{code}"
    return translate(key, locale) if has_label(key, locale) else code


def format_month(value: date | datetime | None, locale: str) -> str:
    if value is None or value is pd.NaT:
        return ""
    if locale == "en_US":
        return f"{ENGLISH_MONTHS[value.month - 1]} {value.year}"
    return f"{value.year}年{value.month}月"


def format_percent(value: float | None, digits: int = 1) -> str:
    return "–" if value is None or pd.isna(value) else f"{float(value) * 100:.{digits}f}%"


def format_money_short(value: float | Decimal, locale: str) -> str:
    """Money for a KPI tile, read at a glance: exact below a million yuan, otherwise in the
    reader's units: 万 / 亿 in Chinese ("¥9,585.6万"), M / B in English ("¥95.86M")."""
    amount = float(value)
    size = abs(amount)
    if size < 1_000_000:
        return format_money(Decimal(str(round(amount, 2))))
    sign = "-" if amount < 0 else ""
    if locale == "en_US":
        if size >= 1_000_000_000:
            return f"{sign}¥{size / 1_000_000_000:,.2f}B"
        return f"{sign}¥{size / 1_000_000:,.2f}M"
    if size >= 100_000_000:
        return f"{sign}¥{size / 100_000_000:,.2f}亿"
    return f"{sign}¥{size / 10_000:,.1f}万"


def format_value(value: object, kind: str, locale: str) -> str:
    """A KPI value as text: int, money, percent, number (one decimal), points (pp difference)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if kind == "money":
        return format_money_short(value, locale)
    if kind == "percent":
        return format_percent(float(value))
    if kind == "points":
        return t("dash.format.points", value=f"{float(value) * 100:+.1f}")
    if kind == "number":
        return f"{float(value):,.1f}"
    return format_int(value)


# -- KPI tiles --------------------------------------------------------------------------------------
def kpi_row(kpis: Sequence[Kpi], locale: str, deltas: dict[str, str] | None = None) -> None:
    """The KPI tiles, up to four in a row; the help is ``dash.kpi.help.<key>`` when defined."""
    count = len(kpis)
    per_row = count if count <= 4 else (3 if count in (5, 6) else 4)
    for start in range(0, len(kpis), per_row):
        row = kpis[start : start + per_row]
        for column, kpi in zip(st.columns(per_row), row, strict=False):
            help_key = f"dash.kpi.help.{kpi.key}"
            help_text = t(help_key) if has_label(help_key, locale) else ""
            shown = format_value(kpi.value, kpi.kind, locale)
            if kpi.kind == "money" and kpi.value is not None:
                exact = format_money(Decimal(str(round(float(kpi.value), 2))))
                if exact != shown:  # the tile is rounded: the exact amount on hover
                    help_text = f"{help_text}  \n{t('dash.exact', value=exact)}".strip()
            column.metric(
                t(f"dash.kpi.{kpi.key}"),
                shown,
                delta=(deltas or {}).get(kpi.key),
                delta_color="off",
                help=help_text or None,
                border=True,
            )


def change_text(now: object, before: object, kind: str) -> str | None:
    """The change of a KPI versus the previous period, as a tile's delta: relative for counts
    and money ("+12.5%"), in percentage points for rates; None when there is nothing to compare
    (no previous value, or a previous value of zero)."""
    if now is None or before is None or pd.isna(now) or pd.isna(before):
        return None
    if kind in ("percent", "points"):
        return t("dash.change.points", value=f"{(float(now) - float(before)) * 100:+.1f}")
    if float(before) == 0:
        return None
    return f"{(float(now) - float(before)) / abs(float(before)) * 100:+.1f}%"


def kpi_row_compared(
    kpis: Sequence[Kpi],
    previous: dict[str, object],
    locale: str,
    *,
    previous_label: str | None = None,
    lower_is_better: frozenset[str] | set[str] = frozenset(),
) -> None:
    """KPI tiles with their change versus the previous period (green when better: up, or down
    for keys in ``lower_is_better``); the help says the previous period and its value."""
    count = len(kpis)
    per_row = count if count <= 4 else (3 if count in (5, 6) else 4)
    for start in range(0, count, per_row):
        row = kpis[start : start + per_row]
        for column, kpi in zip(st.columns(per_row), row, strict=False):
            help_key = f"dash.kpi.help.{kpi.key}"
            lines = [t(help_key)] if has_label(help_key, locale) else []
            shown = format_value(kpi.value, kpi.kind, locale)
            if kpi.kind == "money" and kpi.value is not None:
                exact = format_money(Decimal(str(round(float(kpi.value), 2))))
                if exact != shown:
                    lines.append(t("dash.exact", value=exact))
            before = previous.get(kpi.key)
            if previous and previous_label:
                lines.append(
                    t(
                        "dash.change.previous",
                        period=previous_label,
                        value=format_value(before, kpi.kind, locale),
                    )
                )
            column.metric(
                t(f"dash.kpi.{kpi.key}"),
                shown,
                delta=change_text(kpi.value, before, kpi.kind),
                delta_color="inverse" if kpi.key in lower_is_better else "normal",
                help="  \n".join(lines) or None,
                border=True,
            )


# -- figures ---------------------------------------------------------------------------------------
def with_labels(frame: pd.DataFrame, kinds: dict[str, str], locale: str) -> pd.DataFrame:
    """A copy of ``frame`` with the code columns in ``kinds`` replaced by their names."""
    labelled = frame.copy()
    for column, kind in kinds.items():
        if column in labelled:
            labelled[column] = [label(kind, code, locale) for code in labelled[column]]
    return labelled


def style(
    figure: go.Figure,
    locale: str,
    *,
    x: str | None = None,
    y: str | None = None,
    legend: str | None = None,
    height: int = 360,
) -> go.Figure:
    """Axes formatted by kind (month, money, int, percent), locale separators, compact margins."""
    figure.update_layout(
        separators=".,",
        margin={"t": 10, "l": 10, "r": 10, "b": 10},
        height=height,
        legend_title_text=legend or "",
        hoverlabel={"namelength": -1},
    )
    for axis, kind in (("x", x), ("y", y)):
        update = figure.update_xaxes if axis == "x" else figure.update_yaxes
        if kind == "month":
            update(tickformat=MONTH_TICKS.get(locale, "%Y-%m"), hoverformat="%Y-%m")
        elif kind == "money":
            update(tickprefix="¥", tickformat=",.0f", hoverformat=",.2f")
        elif kind == "int":
            update(tickformat=",d")
        elif kind == "percent":
            update(tickformat=".0%", hoverformat=".1%")
    return figure


def show(figure: go.Figure, key: str) -> None:
    st.plotly_chart(figure, key=key, config={"displaylogo": False})


def no_data() -> None:
    st.caption(t("chart.no_data"))


# -- tables and downloads --------------------------------------------------------------------------
def _display_frame(
    frame: pd.DataFrame, spec: Sequence[tuple[str, str]], locale: str
) -> tuple[pd.DataFrame, dict[str, object]]:
    """Localised headers and names; column formats for ``st.dataframe``."""
    shown = pd.DataFrame(index=frame.index)
    config: dict[str, object] = {}
    for column, kind in spec:
        if column not in frame:
            continue
        header = translate(f"dash.col.{column}", locale)
        values = frame[column]
        if kind.startswith("label:"):
            shown[header] = [label(kind.split(":", 1)[1], code, locale) for code in values]
        elif kind in ("month", "date"):
            shown[header] = pd.to_datetime(values, errors="coerce")
            fmt = MONTH_COLUMN.get(locale) if kind == "month" else "YYYY-MM-DD"
            config[header] = st.column_config.DateColumn(header, format=fmt)
        elif kind == "datetime":
            shown[header] = [format_datetime(_utc(value)) for value in values]
        elif kind == "bool":
            yes = translate("dash.value.yes", locale)
            shown[header] = [yes if bool(v) else "" for v in values.fillna(False)]
        elif kind in ("money", "int", "number", "percent"):
            shown[header] = pd.to_numeric(values, errors="coerce")
            fmt = {"money": "¥%,.2f", "int": "%,d", "number": "%,.2f", "percent": "percent"}[kind]
            config[header] = st.column_config.NumberColumn(header, format=fmt)
        else:
            shown[header] = values.astype("string").fillna("")
    return shown.reset_index(drop=True), config


def _utc(value: object) -> datetime | None:
    """A naive-UTC warehouse timestamp as an aware one (shown in club time)."""
    if value is None or value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return None
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.to_pydatetime()


def export_frame(frame: pd.DataFrame, spec: Sequence[tuple[str, str]], locale: str) -> pd.DataFrame:
    """What the downloads hold: localised headers and names, numbers as numbers, local times."""
    out = pd.DataFrame(index=frame.index)
    for column, kind in spec:
        if column not in frame:
            continue
        header = translate(f"dash.col.{column}", locale)
        values = frame[column]
        if kind.startswith("label:"):
            out[header] = [label(kind.split(":", 1)[1], code, locale) for code in values]
        elif kind == "month":
            out[header] = [format_month(_as_day(v), locale) for v in values]
        elif kind == "date":
            out[header] = [format_date(_as_day(v)) for v in values]
        elif kind == "datetime":
            out[header] = [format_datetime(_utc(v)) for v in values]
        elif kind in ("money", "int", "number", "percent"):
            out[header] = pd.to_numeric(values, errors="coerce")
        elif kind == "bool":
            out[header] = values.fillna(False).astype(bool)
        else:
            out[header] = values
    return out.reset_index(drop=True)


def _as_day(value: object) -> date | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return None
    return pd.Timestamp(value).date()


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 with a byte-order mark, so Excel on a Chinese Windows opens it correctly."""
    return frame.to_csv(index=False).encode("utf-8-sig")


def excel_bytes(frame: pd.DataFrame, sheet: str = "data") -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, sheet_name=sheet[:31] or "data")
        sheet_ = writer.sheets[sheet[:31] or "data"]
        for cells in sheet_.columns:  # readable widths (CJK characters count double)
            width = max(
                (sum(2 if ord(ch) > 0x2E80 else 1 for ch in str(c.value or "")) for c in cells),
                default=8,
            )
            sheet_.column_dimensions[cells[0].column_letter].width = min(max(width + 2, 8), 50)
    return buffer.getvalue()


def _csv_download(frame: pd.DataFrame, spec: Sequence[tuple[str, str]], locale: str) -> bytes:
    return csv_bytes(export_frame(frame, spec, locale))


def _excel_download(
    frame: pd.DataFrame, spec: Sequence[tuple[str, str]], locale: str, sheet: str
) -> bytes:
    return excel_bytes(export_frame(frame, spec, locale), sheet)


def data_table(
    frame: pd.DataFrame,
    spec: Sequence[tuple[str, str]],
    *,
    key: str,
    locale: str,
    file_stem: str,
    expanded: bool = False,
    title: str | None = None,
) -> None:
    """The numbers behind a chart, in an expander, with CSV and Excel downloads.

    ``spec`` lists ``(column, kind)``; kinds: text, int, money, number, percent, month, date,
    datetime, bool, or ``label:<kind>`` for codes shown by their names. Headers are
    ``dash.col.<column>``.
    """
    with st.expander(title or t("dash.table"), expanded=expanded):
        if frame.empty:
            no_data()
            return
        shown, config = _display_frame(frame, spec, locale)
        st.dataframe(shown, column_config=config, hide_index=True, key=f"{key}.table")
        # Built only when clicked (on Streamlit's download thread): no cost on every rerun.
        left, right, _ = st.columns([1, 1, 4])
        left.download_button(
            t("dash.download_csv"),
            partial(_csv_download, frame, tuple(spec), locale),
            file_name=f"{file_stem}.csv",
            mime="text/csv",
            key=f"{key}.csv",
            icon=":material/download:",
        )
        right.download_button(
            t("dash.download_excel"),
            partial(_excel_download, frame, tuple(spec), locale, file_stem),
            file_name=f"{file_stem}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key=f"{key}.xlsx",
            icon=":material/table_view:",
        )
