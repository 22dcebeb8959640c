"""The filter bar every dashboard page shares, and the frame around a page's numbers.

- :func:`filter_bar` shows period (from/to month), region, tier and channel; it returns a
  :class:`~dashboards.data.filtering.Filters` that the page passes to *every* query, so each chart,
  KPI and table obeys the same choice. Empty choices mean "all". Widget keys are per page
  (``<page>.month_from`` …), so each page keeps its own filters in the session.
- :func:`load` runs a page's data function on the published warehouse, cached per published file
  and arguments (a new publish shows at once), and turns the warehouse's states into messages:
  nothing published yet, or a warehouse without the marts the page needs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import duckdb
import streamlit as st

from clubcrm.published import NoPublishedWarehouse
from clubcrm.settings import Settings, get_settings
from dashboards.auth import require_page
from dashboards.charts import ensure_catalog, format_month, label
from dashboards.data.filtering import UNKNOWN, FilterOptions, Filters, read_published
from dashboards.data.overview import published_version
from dashboards.i18n import current_locale, format_date, format_datetime, t
from operational.services.common import Actor

#: How long a cached result is reused at most (a new publish changes the key at once anyway).
CACHE_TTL_SECONDS = 600


def start_page(url_path: str) -> tuple[Actor, Settings, str]:
    """The start of every dashboard page: the labels, the role check, the settings, the locale.

    The labels are merged again here (cheap) because Streamlit may reload ``dashboards.i18n``
    after a code change, dropping labels merged at an earlier import.
    """
    ensure_catalog()
    actor = require_page(url_path)
    return actor, get_settings(), current_locale()


# -- loading -----------------------------------------------------------------------------------------
@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False, max_entries=512)
def _cached(
    published_file: str,  # noqa: ARG001 - the cache key: a new publish is a new file
    name: str,  # noqa: ARG001 - the cache key: which data function
    arguments: tuple,
    _settings: Settings,
    _reader: Callable[..., Any],
) -> Any:
    return read_published(_settings, _reader, *arguments)


def load(settings: Settings, reader: Callable[..., Any], *arguments: Any) -> Any:
    """``reader(con, *arguments)`` on the published warehouse, cached; on a problem the page
    shows what to do and stops."""
    name = f"{reader.__module__}.{reader.__qualname__}"
    try:
        return _cached(published_version(settings), name, arguments, settings, reader)
    except NoPublishedWarehouse:
        st.info(t("overview.no_warehouse"), icon=":material/info:")
    except (duckdb.CatalogException, duckdb.BinderException) as exc:  # an older or partial build
        st.warning(t("dash.missing_marts", error=_first_line(exc)), icon=":material/warning:")
    except duckdb.Error as exc:
        st.error(t("overview.load_failed", error=_first_line(exc)), icon=":material/error:")
    st.stop()
    raise AssertionError("unreachable")  # pragma: no cover - st.stop() raises


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def publication_caption(published_at, as_of) -> None:
    if published_at is None:
        return
    caption = t("overview.published_at", when=format_datetime(published_at))
    if as_of is not None:
        caption += " · " + t("overview.as_of", day=format_date(as_of))
    st.caption(caption)


# -- the filter bar -------------------------------------------------------------------------------------
def _region_name(code: str, options: FilterOptions, locale: str) -> str:
    if code != UNKNOWN and code in options.region_names:
        zh, en = options.region_names[code]
        return en if locale == "en_US" else zh
    return label("region", code, locale)


def filter_bar(
    page: str,
    options: FilterOptions,
    locale: str,
    *,
    channel_kind: str | None = None,
    channel_label: str = "dash.filter.channel",
    period: bool = True,
    tier: bool = True,
) -> Filters:
    """The filters of ``page``: period from/to (when the page has months), region, tier and
    channel (``channel_kind`` names the dictionary its codes come from; None hides it)."""
    with st.container(border=True, key=f"{page}.filters"):
        shown = [
            ("period", period and bool(options.months)),
            ("region", bool(options.regions)),
            ("tier", tier and bool(options.tiers)),
            ("channel", channel_kind is not None and bool(options.channels)),
        ]
        widths = [2 if name == "period" else 1.5 for name, on in shown if on]
        columns = iter(st.columns(widths or [1]))
        month_from = month_to = None
        if period and options.months:
            months = list(options.months)
            cell = next(columns)
            start, end = cell.columns(2)
            month_from = start.selectbox(
                t("dash.filter.from"),
                months,
                index=0,
                format_func=lambda month: format_month(month, locale),
                key=f"{page}.month_from",
            )
            month_to = end.selectbox(
                t("dash.filter.to"),
                months,
                index=len(months) - 1,
                format_func=lambda month: format_month(month, locale),
                key=f"{page}.month_to",
            )
        regions = tiers = channels = ()
        if options.regions:
            regions = next(columns).multiselect(
                t("dash.filter.region"),
                list(options.regions),
                format_func=lambda code: _region_name(code, options, locale),
                placeholder=t("dash.filter.all"),
                key=f"{page}.regions",
            )
        if tier and options.tiers:
            tiers = next(columns).multiselect(
                t("dash.filter.tier"),
                list(options.tiers),
                format_func=lambda code: label("tier", code, locale),
                placeholder=t("dash.filter.all"),
                key=f"{page}.tiers",
            )
        if channel_kind is not None and options.channels:
            channels = next(columns).multiselect(
                t(channel_label),
                list(options.channels),
                format_func=lambda code: label(channel_kind, code, locale),
                placeholder=t("dash.filter.all"),
                key=f"{page}.channels",
            )
    if month_from and month_to and month_from > month_to:
        st.warning(t("dash.filter.swapped"), icon=":material/swap_horiz:")
        month_from, month_to = month_to, month_from
    return Filters(
        month_from=_first(month_from),
        month_to=_first(month_to),
        regions=tuple(regions),
        tiers=tuple(tiers),
        channels=tuple(channels),
    )


def _first(month: date | None) -> date | None:
    return None if month is None else month.replace(day=1)


def follow_new_months(page: str, options: FilterOptions) -> None:
    """Call before :func:`filter_bar`: a period that ran to the latest month keeps running to
    it after a new publish adds months (one the reader ended earlier stays as chosen), and a
    month no longer offered falls back to the first or last one."""
    if not options.months:
        return
    first, latest = options.months[0], options.months[-1]
    start, end, seen = f"{page}.month_from", f"{page}.month_to", f"{page}.latest_month"
    chosen_end = st.session_state.get(end)
    if chosen_end is not None and (
        chosen_end not in options.months
        or (chosen_end == st.session_state.get(seen) and chosen_end != latest)
    ):
        st.session_state[end] = latest
    if st.session_state.get(start) is not None and st.session_state[start] not in options.months:
        st.session_state[start] = first
    st.session_state[seen] = latest


def default_recent_months(page: str, options: FilterOptions, count: int) -> None:
    """Call before :func:`filter_bar`: a page first opens on its last ``count`` months (the
    whole range when shorter) instead of all of them; the reader's later choice stays."""
    key, given = f"{page}.month_from", f"{page}.recent_default"
    if len(options.months) <= count:
        return
    untouched = key not in st.session_state or st.session_state[key] == st.session_state.get(given)
    if untouched and st.session_state.get(key) != options.months[-count]:
        st.session_state[key] = options.months[-count]  # a new publish moves it on too
    st.session_state[given] = options.months[-count]
