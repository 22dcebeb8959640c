"""Numbers of the Predictions dashboard: members at risk of leaving, likely buyers, and who
responds to care, from the prediction marts (``models_ml`` writes them after each pipeline run).

Each table holds one row per member and as-of date (ARCHITECTURE.md contract); the page reads
the latest as-of date only. Filters: region, tier and channel of the member (the period does not
apply: a prediction looks ahead from its as-of date). Lists are ranked in DuckDB and cut to the
number asked for, so a million scored members never travel into pandas.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from dashboards.data.filtering import (
    Columns,
    FilterOptions,
    Filters,
    Kpi,
    member_options,
    query,
    table_exists,
    where,
)

#: table -> (probability column, extra columns listed)
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "churn_risk": ("p_churn", ()),
    "likely_buyers": ("p_buy", ()),
    "care_responsiveness": ("p_respond", ("uplift",)),
}
#: A member counts as "high" (at risk, likely to buy, likely to respond) from this probability.
HIGH_PROBABILITY = 0.5
COLUMNS = Columns(region="members.region", tier="members.tier", channel="members.channel")


class NoPredictions(LookupError):
    """The prediction schema (or the asked table) is not in the published warehouse yet."""


@dataclass(frozen=True)
class PredictionList:
    table: str
    kpis: list[Kpi]
    as_of: object
    model_version: str | None
    distribution: pd.DataFrame  # band (0.0, 0.1 … 0.9), members
    members: pd.DataFrame  # the top members: member_no, tier, region, p, reasons…


def available(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The prediction tables present, in :data:`TABLES` order."""
    return [table for table in TABLES if table_exists(con, "prediction", table)]


def options(con: duckdb.DuckDBPyConnection) -> FilterOptions:
    return member_options(con, None, "select distinct channel from core.dim_members")


def load(
    con: duckdb.DuckDBPyConnection, table: str, filters: Filters, top: int = 200
) -> PredictionList:
    if table not in TABLES:
        raise ValueError(f"unknown prediction table {table!r}; expected one of {list(TABLES)}")
    if not table_exists(con, "prediction", table):
        raise NoPredictions(f"prediction.{table} is not in the published warehouse")
    probability, extra = TABLES[table]
    condition, params = where(filters, COLUMNS)
    latest = f"""(select * from prediction.{table}
        where as_of = (select max(as_of) from prediction.{table}))"""
    if filters.regions or filters.tiers or filters.channels:
        source = f"""{latest} as scores
            join core.dim_members as members on members.member_no = scores.member_no
            where {condition}"""
    else:  # no member filter: no join over every scored member (most of the cost)
        source, params = f"{latest} as scores", []
    persuadable = "count(*) filter (where scores.uplift > 0)" if "uplift" in extra else "0"
    # One pass: members per probability band (0.0, 0.1 … 0.9); the KPIs add the bands up.
    bands = query(
        con,
        f"""
        select least(floor(scores.{probability} * 10), 9) / 10 as band, count(*) as members,
               sum(scores.{probability}) as expected, {persuadable} as persuadable,
               max(scores.as_of) as as_of, max(scores.model_version) as model_version
        from {source} group by all order by band
        """,
        params,
    )
    high = bands.loc[bands["band"] >= HIGH_PROBABILITY - 1e-9, "members"].sum()
    kpis = [
        Kpi("scored_members", int(bands["members"].sum())),
        Kpi(f"high_{table}", int(high)),
        Kpi(f"expected_{table}", float(bands["expected"].sum()), "int"),
    ]
    if "uplift" in extra:
        kpis.append(Kpi("persuadable_members", int(bands["persuadable"].sum())))
    as_of = bands["as_of"].max() if not bands.empty else None
    version = bands["model_version"].max() if not bands.empty else None
    distribution = bands[["band", "members"]]
    extra_sql = "".join(f", top.{column}" for column in extra)
    members = query(
        con,
        f"""
        with top as (
            select scores.* from {source}
            order by scores.{probability} desc, scores.member_no limit {int(top)}
        )
        select top.member_no, members.tier, coalesce(members.region, 'unknown') as region,
               members.status, top.{probability} as probability{extra_sql},
               top.top_reasons, top.as_of, top.model_version
        from top left join core.dim_members as members on members.member_no = top.member_no
        order by probability desc, top.member_no
        """,
        params,
    )
    members["top_reasons"] = [reasons_text(value) for value in members["top_reasons"]]
    return PredictionList(
        table=table,
        kpis=kpis,
        as_of=as_of,
        model_version=version,
        distribution=distribution,
        members=members,
    )


def load_lists(
    con: duckdb.DuckDBPyConnection, tables: tuple[str, ...], filters: Filters, top: int = 200
) -> dict[str, PredictionList]:
    """:func:`load` of each of ``tables`` on one connection (the page shows them all at once;
    opening the warehouse costs about as much as one of these queries)."""
    return {table: load(con, table, filters, top) for table in tables}


def reasons_text(value: object) -> str:
    """The top reasons as one line, whatever their stored shape (list, JSON text, struct)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "; ".join(f"{key}: {item}" for key, item in value.items())
    try:
        items = list(value)  # a list or numpy array
    except TypeError:
        return str(value)
    return "; ".join(reasons_text(item) for item in items)
