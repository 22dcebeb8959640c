"""Numbers of the Care dashboard: response rates, treated vs control, and the effect of care.

Every automatic care holds out a random control group (no contact), so the effect of care is the
difference between the response rates of the treated (every contact not held out, failed sends
included: intention to treat) and of the control group, with a 95% normal-approximation interval,
as ``analysis.analysis_care_effect`` computes it. Here it is computed from
``core.fct_care_contacts`` so that the filters apply: the period to the club-local month of the
contact, region and tier to the member, channel to the contact channel.
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
    local_day,
    member_options,
    month_of_day,
    query,
    ratio,
    where,
)

#: z for a two-sided 95% interval.
Z95 = 1.96
COLUMNS = Columns(
    time="contacts.contacted_at",
    region="members.region",
    tier="members.tier",
    channel="contacts.contact_channel",
)


def _source(filters: Filters) -> str:
    """The facts, joined to the members only when a filter needs them (the join is most of
    the cost on a large warehouse)."""
    if filters.regions or filters.tiers:
        return """core.fct_care_contacts as contacts
    left join core.dim_members as members on members.member_no = contacts.member_no"""
    return "core.fct_care_contacts as contacts"


@dataclass(frozen=True)
class CareData:
    kpis: list[Kpi]
    by_month: pd.DataFrame  # contact_month, group (treated/control), contacts, responded, rate
    effect_by_trigger: pd.DataFrame  # care_trigger, rates, difference, ci_lower, ci_upper
    by_channel: pd.DataFrame  # contact_channel, treated_contacts, responded, response_rate
    #: 95% interval of the overall effect (None, None without both arms)
    effect_interval: tuple[float | None, float | None] = (None, None)


def options(con: duckdb.DuckDBPyConnection) -> FilterOptions:
    return member_options(
        con,
        "select min(contacted_at), max(contacted_at) from core.fct_care_contacts",
        "select distinct contact_channel from core.fct_care_contacts",
    )


def _effect_sql(group: str, base: str) -> str:
    """Treated vs control response rates and their difference with a 95% interval."""
    return f"""
        with arms as (
            select {group},
                   count(*) filter (where not contacts.is_control) as treated_contacts,
                   count(*) filter (where contacts.is_control) as control_contacts,
                   count(*) filter (where not contacts.is_control and contacts.has_responded)
                       as treated_responded,
                   count(*) filter (where contacts.is_control and contacts.has_responded)
                       as control_responded
            {base}
        ),
        rates as (
            select *,
                   treated_responded / nullif(treated_contacts, 0) as treated_response_rate,
                   control_responded / nullif(control_contacts, 0) as control_response_rate
            from arms
        ),
        effects as (
            select *, treated_response_rate - control_response_rate as difference,
                   sqrt(treated_response_rate * (1 - treated_response_rate) / treated_contacts
                        + control_response_rate * (1 - control_response_rate) / control_contacts)
                       as standard_error
            from rates
        )
        select * exclude (standard_error),
               difference - {Z95} * standard_error as ci_lower,
               difference + {Z95} * standard_error as ci_upper
        from effects
    """


def load(con: duckdb.DuckDBPyConnection, filters: Filters) -> CareData:
    condition, params = where(filters, COLUMNS)
    base = f"from {_source(filters)} where {condition}"
    # The effect only where a control group was held out (automatic care): comparing campaign
    # contacts, which have none, with another care's control group would not be fair.
    controlled = f"""{base} and contacts.care_id in (
        select care_id from core.fct_care_contacts where is_control) group by all"""
    overall = query(con, _effect_sql("1 as everyone", controlled), params)
    row = overall.iloc[0] if not overall.empty else None
    cares, treated, responded = con.execute(
        f"""select count(distinct contacts.care_id),
                   count(*) filter (where not contacts.is_control),
                   count(*) filter (where not contacts.is_control and contacts.has_responded)
            {base}""",
        params,
    ).fetchone()

    def value(column: str):
        if row is None or pd.isna(row[column]):
            return None
        return row[column]

    kpis = [
        Kpi("cares", cares),
        Kpi("treated_contacts", treated),
        Kpi("treated_response_rate", ratio(responded, treated), "percent"),
        Kpi("control_response_rate", value("control_response_rate"), "percent"),
        Kpi("care_effect", value("difference"), "points"),
    ]
    effect_interval = (value("ci_lower"), value("ci_upper"))
    # By club-local day first (integer arithmetic per contact), then the few days by month.
    by_month = query(
        con,
        f"""
        with daily as (
            select {local_day("contacts.contacted_at")} as local_day,
                   case when contacts.is_control then 'control' else 'treated' end as arm,
                   count(*) as contacts,
                   count(*) filter (where contacts.has_responded) as responded
            {base} group by all
        )
        select {month_of_day("local_day")} as contact_month, arm,
               sum(contacts)::bigint as contacts, sum(responded)::bigint as responded,
               sum(responded) / sum(contacts) as response_rate
        from daily group by all order by contact_month, arm
        """,
        params,
    )
    effect_by_trigger = query(
        con, _effect_sql("contacts.care_trigger", f"{base} group by all") + " order by 1", params
    )
    by_channel = query(
        con,
        f"""
        select contacts.contact_channel, count(*) as treated_contacts,
               count(*) filter (where contacts.has_responded) as responded,
               count(*) filter (where contacts.has_responded) / count(*) as response_rate,
               count(*) filter (where contacts.status = 'failed') as failed_contacts
        {base} and not contacts.is_control group by all order by treated_contacts desc
        """,
        params,
    )
    return CareData(
        kpis=kpis,
        by_month=by_month,
        effect_by_trigger=effect_by_trigger,
        by_channel=by_channel,
        effect_interval=effect_interval,
    )
