"""What members do over the history: cards, purchases, activities, swipes, care, complaints.

Every event process is driven by the latent traits of :mod:`demodata.people` and stops at the
member's latent churn time (see :mod:`demodata.truth` for the model). Results are dicts of
numpy arrays sorted by member, so that :mod:`demodata.tables` can cut them into member chunks.
Row ids are the 1-based positions in these sorted arrays.
"""

from __future__ import annotations

import numpy as np

from demodata import vocab
from demodata.people import CHANNEL_FACTOR, REGIONS
from demodata.reference import (
    ACTIVITY_READER_REGIONS,
    Merchants,
    Readers,
)
from demodata.rng import stream, weighted_choice
from demodata.timebase import DAY, NA, Timeline, local_day, local_ts

Arrays = dict[str, np.ndarray]


def take(arrays: Arrays, index: np.ndarray) -> Arrays:
    return {k: (v[..., index] if v.ndim > 1 else v[index]) for k, v in arrays.items()}


def concat(parts: list[Arrays]) -> Arrays:
    keys = parts[0].keys()
    return {k: np.concatenate([p[k] for p in parts], axis=-1) for k in keys}


def sort_by(arrays: Arrays, *keys: str) -> tuple[Arrays, np.ndarray]:
    """Sort every column by ``keys`` (first key most significant); also return the order."""
    order = np.lexsort(tuple(arrays[k] for k in reversed(keys)))
    return take(arrays, order), order


def snap_to_hours(rng, t, lo, hi, first_hour: float, last_hour: float) -> np.ndarray:
    """Move instants to a random time of the same local day within opening hours, in [lo, hi)."""
    seconds = rng.integers(int(first_hour * 3600), int(last_hour * 3600), size=len(t))
    snapped = local_ts(local_day(t), seconds)
    return np.clip(snapped, lo, np.maximum(hi - 1, lo))


def poisson_times(rng, rate_per_day, lo, hi) -> tuple[np.ndarray, np.ndarray]:
    """Event times of independent Poisson processes on [lo, hi) per member: (member, t)."""
    span = np.maximum(hi - lo, 0)
    counts = rng.poisson(rate_per_day * span / DAY)
    member = np.repeat(np.arange(len(lo)), counts)
    t = lo[member] + (rng.random(len(member)) * span[member]).astype(np.int64)
    return member, t


# -- cards ----------------------------------------------------------------------------------------
def build_cards(seed: int, m: Arrays, tl: Timeline) -> Arrays:
    """Main cards (one, or two after an upgrade/loss/replacement) and sub-cards per member."""
    rng = stream(seed, "cards")
    n = len(m["join_ts"])
    members = np.arange(n)
    end_ts = tl.end_ts
    archived = m["archived_ts"]
    has2 = m["repl_kind"] > 0
    inf = np.iinfo(np.int64).max

    c1 = {
        "member": members,
        "slot": np.zeros(n, dtype=np.int64),
        "kind": np.zeros(n, dtype=np.int8),  # 0 main, 1 sub
        "vip": m["card1_vip"],
        "sub_type": np.full(n, -1, dtype=np.int8),
        "issued": m["card1_ts"],
        "expires_day": np.full(n, NA),
        "status": np.where(
            has2, np.where(m["repl_kind"] == 2, 2, 1), np.where(archived != NA, 3, 0)
        ).astype(np.int8),  # 0 active 1 replaced 2 lost 3 cancelled 4 expired
        "ended": np.where(has2, m["repl_ts"], archived),
        "end_reason": np.where(has2, m["repl_kind"], np.where(archived != NA, 4, 0)).astype(
            np.int8
        ),  # 0 none 1 upgrade 2 lost 3 request 4 exit 5 main_replaced 6 expired
        "parent_slot": np.full(n, -1),
    }
    i2 = members[has2]
    c2 = {
        "member": i2,
        "slot": np.ones(len(i2), dtype=np.int64),
        "kind": np.zeros(len(i2), dtype=np.int8),
        "vip": m["vip"][i2],
        "sub_type": np.full(len(i2), -1, dtype=np.int8),
        "issued": m["repl_ts"][i2],
        "expires_day": np.full(len(i2), NA),
        "status": np.where(archived[i2] != NA, 3, 0).astype(np.int8),
        "ended": archived[i2],
        "end_reason": np.where(archived[i2] != NA, 4, 0).astype(np.int8),
        "parent_slot": np.full(len(i2), -1),
    }
    i3 = members[m["has_sub"]]
    sub_ts = m["sub_ts"][i3]
    repl = m["repl_ts"][i3]
    under_first = (repl == NA) | (sub_ts < repl)
    expires = local_day(sub_ts) + 365 * m["sub_years"][i3].astype(np.int64)
    t_repl = np.where(under_first & (repl != NA), repl, inf)
    t_exp = np.where(expires < tl.end_day, local_ts(expires + 1, 300), inf)
    t_arch = np.where(archived[i3] != NA, archived[i3], inf)
    first = np.minimum(np.minimum(t_repl, t_exp), t_arch)
    ended = first < end_ts
    status = np.select(
        [ended & (first == t_repl), ended & (first == t_exp), ended], [3, 4, 3], 0
    ).astype(np.int8)
    reason = np.select(
        [ended & (first == t_repl), ended & (first == t_exp), ended], [5, 6, 4], 0
    ).astype(np.int8)
    c3 = {
        "member": i3,
        "slot": np.full(len(i3), 2, dtype=np.int64),
        "kind": np.ones(len(i3), dtype=np.int8),
        "vip": np.zeros(len(i3), dtype=bool),
        "sub_type": m["sub_type"][i3],
        "issued": sub_ts,
        "expires_day": expires,
        "status": status,
        "ended": np.where(ended, first, NA),
        "end_reason": reason,
        "parent_slot": np.where(under_first, 0, 1),
    }
    cards, _ = sort_by(concat([c1, c2, c3]), "member", "slot")
    count = len(cards["member"])
    index = np.arange(count)
    # Where each member's cards are: card 1 at first[m], card 2 right after it.
    first_pos = np.searchsorted(cards["member"], members)
    m["card1_idx"] = first_pos
    m["card2_idx"] = np.where(has2, first_pos + 1, -1)
    cards["parent"] = np.where(
        cards["parent_slot"] >= 0, first_pos[cards["member"]] + cards["parent_slot"], -1
    )
    cards["replaced_by"] = np.where((cards["slot"] == 0) & has2[cards["member"]], index + 1, -1)
    # Tags come in boxes of consecutive ids: numbers follow the issue order, with gaps.
    issue_rank = np.empty(count, dtype=np.int64)
    issue_rank[np.lexsort((index, cards["issued"]))] = index
    numbers = stream(seed, "card-numbers")
    base = 1_000_000_000 + int(numbers.integers(0, 500_000_000))
    cards["number"] = base + 3 * issue_rank + rng.integers(0, 3, size=count)
    cards["chip_version"] = rng.integers(1, 32, size=count)
    return cards


def card_at(m: Arrays, member: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Index of the member's main card in use at time ``t``."""
    repl = m["repl_ts"][member]
    return np.where((repl != NA) & (t >= repl), m["card2_idx"][member], m["card1_idx"][member])


def active_window(m: Arrays, tl: Timeline) -> tuple[np.ndarray, np.ndarray]:
    """[lo, hi): the part of the history in which each member is a member and not churned."""
    lo = np.maximum(m["join_ts"], tl.start_ts)
    hi = np.minimum(m["churn_ts"], tl.end_ts)
    return lo, np.maximum(hi, lo)


# -- purchases ------------------------------------------------------------------------------------
PLAN_FULL, PLAN_TWO_STEP, PLAN_MORTGAGE = 0, 1, 2
SALES_CHANNELS = ("store", "sales_site", "online", "dealer", "phone")
PAYMENT_METHODS = ("bank_transfer", "pos", "wechat", "alipay", "cash", "mortgage_loan")


def simulate_purchases(seed: int, m: Arrays, tl: Timeline) -> tuple[Arrays, Arrays]:
    """Purchases (Poisson while active), returns, and the payments that pay them off."""
    rng = stream(seed, "purchases")
    lo, hi = active_window(m, tl)
    # Purchases start the day after approval (the approval day is the application's).
    lo = np.minimum(np.maximum(lo, m["join_ts"] + DAY), hi)
    member, t = poisson_times(rng, m["lam_y"] / 365.25, lo, hi)
    t = snap_to_hours(rng, t, lo[member], hi[member], 9, 20)
    product = weighted_choice(rng, [p[1] for p in vocab.PRODUCTS], len(member))
    auto = (m["channel"] == 3) & ~m["legacy"]
    auto_member = np.flatnonzero(auto)
    auto_t = m["submit_ts"][auto_member] - rng.integers(60, 3600, size=len(auto_member))
    keep = auto_t >= tl.start_ts
    auto_member, auto_t = auto_member[keep], auto_t[keep]
    auto_product = np.array([0, 1, 3])[weighted_choice(rng, (0.5, 0.3, 0.2), len(auto_member))]

    p = {
        "member": np.concatenate([member, auto_member]),
        "ts": np.concatenate([t, auto_t]),
        "product": np.concatenate([product, auto_product]).astype(np.int8),
        "auto": np.concatenate([np.zeros(len(member), bool), np.ones(len(auto_member), bool)]),
    }
    n = len(p["member"])
    low = np.array([x[2] for x in vocab.PRODUCTS])[p["product"]]
    high = np.array([x[3] for x in vocab.PRODUCTS])[p["product"]]
    unit = np.array([x[4] for x in vocab.PRODUCTS])[p["product"]]
    amount = np.exp(rng.uniform(np.log(low), np.log(high)))
    amount = amount * np.where(m["vip"][p["member"]], 1.25, 1.0)
    amount = np.maximum(np.round(amount / unit) * unit, unit)
    plan = np.array([{"full": 0, "two_step": 1, "mortgage": 2}[x[5]] for x in vocab.PRODUCTS])[
        p["product"]
    ]
    p["amount"] = amount
    p["quantity"] = np.where(p["product"] == 5, rng.integers(1, 5, size=n), 1)
    p["discount"] = np.where(
        rng.random(n) < 0.25, np.round(amount * rng.uniform(0.01, 0.06, size=n)), 0.0
    )
    p["plan"] = plan.astype(np.int8)

    # Payments: a down payment now, the rest later (a mortgage, a second instalment).
    first_ts = p["ts"] + rng.integers(30, 900, size=n)
    share = np.where(plan == PLAN_MORTGAGE, 0.3, 0.5)
    first_amt = np.where(
        plan == PLAN_FULL, amount, np.maximum(np.round(amount * share / 100) * 100, 100.0)
    )
    first_amt = np.minimum(first_amt, amount)
    rest = amount - first_amt
    instalment = (plan != PLAN_FULL) & (rest > 0)
    lag = np.where(plan == PLAN_MORTGAGE, rng.uniform(20, 90, size=n), rng.uniform(10, 60, size=n))
    scheduled = local_ts(local_day(p["ts"] + (lag * DAY).astype(np.int64)), 10 * 3600)
    stalled = instalment & (rng.random(n) < 0.06)
    second_ts = scheduled + np.where(stalled, (rng.uniform(120, 420, size=n) * DAY), 0).astype(
        np.int64
    )
    second_ts = second_ts + rng.integers(0, 7 * 3600, size=n)
    # Returns: a buyer backs out before paying in full (never after the latent churn).
    ret_ts = p["ts"] + (rng.uniform(3, 40, size=n) * DAY).astype(np.int64)
    ret_ts = local_ts(local_day(ret_ts), rng.integers(10 * 3600, 17 * 3600, size=n))
    _, member_hi = active_window(m, tl)
    returned = (
        instalment
        & (rng.random(n) < 0.025)
        & (ret_ts < second_ts)
        & (ret_ts < member_hi[p["member"]])
        & (ret_ts < tl.end_ts)
    )
    second_paid = instalment & ~returned & (second_ts < tl.end_ts)
    fully = ~returned & ((plan == PLAN_FULL) | (rest <= 0) | second_paid)
    p["paid"] = first_amt + np.where(second_paid, rest, 0.0)
    p["fully_ts"] = np.where(fully, np.where(second_paid, second_ts, first_ts), NA)
    p["due_day"] = np.where(~fully & ~returned, local_day(scheduled), NA)
    p["returned"] = returned
    p["ret_ts"] = np.where(returned, ret_ts, NA)
    p["is_return"] = np.zeros(n, dtype=bool)
    p["returns_idx"] = np.full(n, -1)

    # The returns themselves are purchases of type 'return' with a negative amount.
    ri = np.flatnonzero(returned)
    r = {k: v[ri].copy() for k, v in p.items()}
    r["ts"] = ret_ts[ri]
    r["amount"] = -amount[ri]
    r["discount"] = np.zeros(len(ri))
    r["paid"] = np.zeros(len(ri))
    r["fully_ts"] = np.full(len(ri), NA)
    r["due_day"] = np.full(len(ri), NA)
    r["returned"] = np.zeros(len(ri), dtype=bool)
    r["is_return"] = np.ones(len(ri), dtype=bool)
    r["returns_idx"] = ri
    r["auto"] = np.zeros(len(ri), dtype=bool)
    payments_src = {
        "purchase": np.concatenate([np.arange(n), np.flatnonzero(second_paid)]),
        "k": np.concatenate([np.zeros(n, np.int64), np.ones(int(second_paid.sum()), np.int64)]),
        "ts": np.concatenate([first_ts, second_ts[second_paid]]),
        "amount": np.concatenate([first_amt, rest[second_paid]]),
        "method": np.concatenate(
            [
                np.where(plan == PLAN_FULL, rng.integers(1, 5, size=n), 0),
                np.where(plan[second_paid] == PLAN_MORTGAGE, 5, 0),
            ]
        ).astype(np.int8),
    }

    all_p = concat([p, r])
    all_p, order = sort_by(all_p, "member", "ts")
    new_pos = np.empty_like(order)
    new_pos[order] = np.arange(len(order))
    all_p["returns_idx"] = np.where(all_p["returns_idx"] >= 0, new_pos[all_p["returns_idx"]], -1)
    payments_src["purchase"] = new_pos[payments_src["purchase"]]
    payments, _ = sort_by(payments_src, "purchase", "k")

    total = len(all_p["member"])
    first_of_member = np.ones(total, dtype=bool)
    regular = ~all_p["is_return"]
    # 'new' for a member's first purchase in the data (legacy members bought before).
    idx = np.flatnonzero(regular)
    first_of_member[idx[1:]] = all_p["member"][idx[1:]] != all_p["member"][idx[:-1]]
    all_p["type"] = np.where(
        all_p["is_return"], 2, np.where(first_of_member & ~m["legacy"][all_p["member"]], 0, 1)
    ).astype(np.int8)
    prod = all_p["product"]
    big = prod <= 2
    channel = np.where(
        big,
        np.where(rng.random(total) < 0.7, 1, 3),
        np.where(
            prod == 3,
            np.where(rng.random(total) < 0.6, 1, 0),
            np.where(prod == 4, weighted_choice(rng, (0.6, 0, 0.2, 0, 0.2), total), 0),
        ),
    )
    channel = np.where((prod == 5) & (rng.random(total) < 0.55), 2, channel)
    all_p["channel"] = channel.astype(np.int8)
    all_p["seller"] = rng.integers(0, 4, size=total).astype(np.int8)
    all_p["dealer"] = np.where(channel == 3, rng.integers(0, 6, size=total), -1).astype(np.int8)
    all_p["cross_group"] = rng.random(total) < 0.03
    all_p["invoice"] = rng.integers(10**9, 10**10 - 1, size=total)
    return all_p, payments


# -- activities and attendance --------------------------------------------------------------------
TARGET_HEADCOUNT = 40
MIN_ACTIVITIES_PER_YEAR = 16.0
FUTURE_DAYS = 60
ACTIVITY_TYPES = ("salon", "party", "on_site", "other")
ACTIVITY_NAMES = {
    "salon": (
        "红酒品鉴沙龙",
        "理财规划沙龙",
        "健康养生讲座",
        "茶艺沙龙",
        "亲子阅读会",
        "插花艺术沙龙",
    ),
    "party": ("业主答谢晚宴", "新春联欢会", "中秋赏月晚会", "圣诞亲子派对", "邻里美食节"),
    "on_site": ("样板间开放日", "工地开放日", "交房仪式", "社区嘉年华", "新品发布会"),
    "other": ("高尔夫体验日", "户外徒步", "公益植树", "亲子运动会"),
}
VENUES = ("天诺会所多功能厅", "售楼处洽谈区", "社区活动中心", "五星酒店宴会厅", "户外营地")


def simulate_activities(
    seed: int, m: Arrays, tl: Timeline, activity: float = 1.0
) -> tuple[Arrays, Arrays]:
    """A Poisson schedule of activities per region and who attends them.

    Each active member of the region attends each held activity with probability
    ``pi = alpha / rho`` (their target yearly attendance over the region's yearly activities),
    so attendance is a Poisson process with rate ``alpha_eff = rho * pi`` (kept in the truth).
    ``activity`` (the multiplier of the members' rates, already in ``alpha``) scales the
    schedule's floor too, so a busier club holds more activities rather than filling each one.
    """
    rng = stream(seed, "activities")
    regions = len(REGIONS.codes)
    region = m["region"].astype(np.int64)
    count = np.bincount(region, minlength=regions).astype(float)
    mean_alpha = np.bincount(region, m["alpha_target_y"], minlength=regions) / np.maximum(count, 1)
    floor = MIN_ACTIVITIES_PER_YEAR * activity
    rho_y = np.maximum(0.6 * count * mean_alpha / TARGET_HEADCOUNT, floor)
    pi = np.minimum(1.0, m["alpha_target_y"] / rho_y[region])
    m["attend_p"] = pi
    m["alpha_eff_y"] = pi * rho_y[region]

    span = tl.n_days + FUTURE_DAYS
    parts = []
    for g in range(regions):
        k = rng.poisson(rho_y[g] / 365.25 * span)
        day = tl.start_day + (rng.random(k) * span).astype(np.int64)
        parts.append({"region": np.full(k, g), "day": day})
    a = concat(parts)
    k = len(a["day"])
    evening = rng.random(k) < 0.4
    a["starts"] = local_ts(a["day"], np.where(evening, 19 * 3600, 14 * 3600))
    a["ends"] = a["starts"] + rng.choice([2, 3, 4], size=k) * 3600
    a["rejected"] = np.zeros(k, dtype=bool)
    # A few plans were rejected: never held, nobody attended.
    extra = max(1, int(0.04 * k))
    rej_day = tl.start_day + (rng.random(extra) * tl.n_days).astype(np.int64)
    rej = {
        "region": weighted_choice(rng, REGIONS.shares, extra).astype(np.int64),
        "day": rej_day,
        "starts": local_ts(rej_day, 14 * 3600),
        "ends": local_ts(rej_day, 17 * 3600),
        "rejected": np.ones(extra, dtype=bool),
    }
    a, _ = sort_by(concat([a, rej]), "starts", "region")
    k = len(a["day"])
    end_ts = tl.end_ts
    a["held"] = ~a["rejected"] & (a["starts"] < end_ts - 3 * 3600)
    a["type"] = weighted_choice(rng, (0.35, 0.2, 0.35, 0.1), k).astype(np.int8)
    a["name_idx"] = rng.integers(0, 6, size=k)
    a["venue"] = rng.integers(0, len(VENUES), size=k)
    a["points"] = np.array([0, 20, 30, 50, 100])[weighted_choice(rng, (0.1, 0.3, 0.3, 0.2, 0.1), k)]
    a["created"] = a["starts"] - (rng.uniform(14, 45, size=k) * DAY).astype(np.int64)
    a["decided"] = a["created"] + (rng.uniform(1, 5, size=k) * DAY).astype(np.int64)
    a["closed"] = a["ends"] + (rng.uniform(1, 3, size=k) * DAY).astype(np.int64)
    ahead = (a["starts"] - end_ts) / DAY
    future_status = np.where(
        ahead > 30,
        np.where(rng.random(k) < 0.5, 0, 1),  # planned / submitted
        np.where(rng.random(k) < 0.8, 2, 1),  # approved / submitted
    )
    status = np.where(
        a["rejected"],
        3,
        np.where(a["held"], np.where(a["closed"] < end_ts, 5, 4), future_status),
    )  # 0 planned 1 submitted 2 approved 3 rejected 4 running 5 closed
    a["status"] = status.astype(np.int8)
    a["shared_cost"] = np.round(rng.uniform(2000, 20000, size=k), -2)
    a["material_cost"] = np.where(
        rng.random(k) < 0.5, np.round(rng.uniform(500, 5000, size=k), -1), 0
    )
    a["per_head_cost"] = np.round(rng.uniform(50, 300, size=k))
    a["gift_cost"] = np.where(rng.random(k) < 0.5, np.round(rng.uniform(30, 150, size=k)), 0)

    attendance = _attendance(rng, m, tl, a)
    held_count = np.bincount(attendance["activity"], minlength=k)
    region_mean = np.bincount(a["region"], held_count * a["held"], minlength=regions) / np.maximum(
        np.bincount(a["region"], a["held"], minlength=regions), 1
    )
    planned = np.where(a["held"], held_count, region_mean[a["region"]])
    a["expected_headcount"] = np.maximum(
        5, np.round(planned * rng.uniform(0.8, 1.4, size=k))
    ).astype(np.int64)
    a["attendees"] = held_count
    a["care"] = (a["status"] == 5) & (rng.random(k) < 0.3)
    return a, attendance


def _attendance(rng, m: Arrays, tl: Timeline, a: Arrays) -> Arrays:
    n = len(m["join_ts"])
    lo, hi = active_window(m, tl)
    held = np.flatnonzero(a["held"])
    # Held activities grouped by region, each group in time order.
    order = held[np.lexsort((a["starts"][held], a["region"][held]))]
    region_of = a["region"][order]
    starts = a["starts"][order]
    regions = len(REGIONS.codes)
    first = np.searchsorted(region_of, np.arange(regions))
    last = np.searchsorted(region_of, np.arange(regions), side="right")
    g = m["region"].astype(np.int64)
    key = region_of * (1 << 40) + (starts - tl.start_ts + (1 << 36))
    lo_i = np.searchsorted(key, g * (1 << 40) + (lo - tl.start_ts + (1 << 36)))
    # Activities that start at least an hour before the churn (arrivals come up to 40 min late).
    hi_i = np.searchsorted(key, g * (1 << 40) + (hi - 3600 - tl.start_ts + (1 << 36)))
    lo_i = np.clip(lo_i, first[g], last[g])
    hi_i = np.clip(hi_i, lo_i, last[g])
    available = hi_i - lo_i
    chosen = rng.binomial(available, m["attend_p"])
    member = np.repeat(np.arange(n), chosen)
    width = available[member]
    pick = (rng.random(len(member)) * width).astype(np.int64)
    for _ in range(200):  # draw distinct activities per member (pi <= 0.5 keeps this short)
        srt = np.lexsort((pick, member))
        dup = (member[srt][1:] == member[srt][:-1]) & (pick[srt][1:] == pick[srt][:-1])
        if not dup.any():
            break
        again = srt[1:][dup]
        pick[again] = (rng.random(len(again)) * width[again]).astype(np.int64)
    activity = order[lo_i[member] + pick]
    att = {"member": member, "activity": activity}
    att, _ = sort_by({**att, "starts": a["starts"][activity]}, "member", "starts")
    count = len(att["member"])
    att["ts"] = att["starts"] + rng.integers(-20 * 60, 40 * 60, size=count)
    has_reader = np.isin(
        np.array(REGIONS.codes)[a["region"][att["activity"]]], ACTIVITY_READER_REGIONS
    )
    by_reader = has_reader & (rng.random(count) < 0.9)
    att["source"] = np.where(by_reader, 2, np.where(rng.random(count) < 0.7, 0, 1)).astype(np.int8)
    att["double_swipe"] = by_reader & (rng.random(count) < 0.02)
    att["card"] = card_at(m, att["member"], att["ts"])
    att["recorder"] = rng.integers(0, 8, size=count).astype(np.int8)
    return att


# -- visits (swipes at counters) ----------------------------------------------------------------
def simulate_visits(
    seed: int, m: Arrays, tl: Timeline, readers: Readers, merchants: Merchants
) -> tuple[Arrays, Arrays]:
    """Counter and lounge swipes (Poisson while active, after the card is issued) and the
    merchant service uses they and manual entries record."""
    rng = stream(seed, "visits")
    lo, hi = active_window(m, tl)
    lo = np.minimum(np.maximum(lo, m["card1_ts"]), hi)
    member, t = poisson_times(rng, m["visit_y"] / 365.25, lo, hi)
    t = snap_to_hours(rng, t, lo[member], hi[member], 10, 21)
    v, _ = sort_by({"member": member, "ts": t}, "member", "ts")
    count = len(v["member"])
    region = m["region"][v["member"]].astype(np.int64)

    lounge_by_region = np.full(len(REGIONS.codes), -1)
    for r in readers.of_kind(1):
        lounge_by_region[readers.region[r]] = r
    counters = readers.of_kind(2)
    counter_regions = readers.region[counters]
    lounge = (lounge_by_region[region] >= 0) & (rng.random(count) < 0.3)
    # Counters: the member's own region when there is one, otherwise any.
    any_counter = counters[rng.integers(0, len(counters), size=count)]
    local_counter = np.full(len(REGIONS.codes), -1)
    local_counter[counter_regions] = counters
    near = local_counter[region]
    counter = np.where((near >= 0) & (rng.random(count) < 0.8), near, any_counter)
    v["reader"] = np.where(lounge, lounge_by_region[region], counter)
    v["lounge"] = lounge
    v["card"] = card_at(m, v["member"], v["ts"])
    v["ts_ms"] = v["ts"] * 1000 + rng.integers(0, 1000, size=count)
    v["redeem_try"] = rng.random(count) < m["redeem_p"][v["member"]]
    v["redeem_u"] = rng.random(count)

    # Which service of the counter's merchant the swipe records (an active one, if any).
    v_merchant = np.where(lounge, -1, readers.merchant[v["reader"]])
    uses_reader = _pick_service(rng, merchants, v_merchant, local_day(v["ts"]))
    v["service"] = uses_reader
    # Service uses staff type in by hand (merchants without a reader): not swipes.
    mm, mt = poisson_times(rng, 0.15 * m["visit_y"] / 365.25, lo, hi)
    mt = snap_to_hours(rng, mt, lo[mm], hi[mm], 10, 21)
    m_merchant = rng.integers(0, merchants.count, size=len(mm))
    manual_service = _pick_service(rng, merchants, m_merchant, local_day(mt))
    keep = manual_service >= 0
    reader_use = np.flatnonzero(v["service"] >= 0)
    uses = {
        "member": np.concatenate([v["member"][reader_use], mm[keep]]),
        "ts": np.concatenate([v["ts"][reader_use], mt[keep]]),
        "service": np.concatenate([v["service"][reader_use], manual_service[keep]]),
        "visit": np.concatenate([reader_use, np.full(int(keep.sum()), -1)]),
    }
    uses, _ = sort_by(uses, "member", "ts")
    return v, uses


def _pick_service(rng, merchants: Merchants, merchant: np.ndarray, day: np.ndarray) -> np.ndarray:
    """A random active service of each merchant on each day (-1: none, or no merchant)."""
    s_first = np.searchsorted(merchants.service_merchant, np.arange(merchants.count))
    s_count = np.bincount(merchants.service_merchant, minlength=merchants.count)
    ok_merchant = merchant >= 0
    mer = np.maximum(merchant, 0)
    start = rng.integers(0, 3, size=len(merchant))
    chosen = np.full(len(merchant), -1)
    end_day = np.where(
        merchants.service_end_day == NA, np.iinfo(np.int64).max, merchants.service_end_day
    )
    for step in range(3):
        slot = (start + step) % np.maximum(s_count[mer], 1)
        service = s_first[mer] + slot
        valid = (
            ok_merchant
            & (chosen < 0)
            & (slot < s_count[mer])
            & (merchants.service_start_day[service] <= day)
            & (day <= end_day[service])
        )
        chosen = np.where(valid, service, chosen)
    return chosen


# -- the swipe spool ------------------------------------------------------------------------------
def build_swipes(
    seed: int,
    m: Arrays,
    tl: Timeline,
    readers: Readers,
    cards: Arrays,
    visits: Arrays,
    attendance: Arrays,
    activities: Arrays,
) -> Arrays:
    """Every swipe the readers saw, sorted by reader and time, with its per-reader ``seq``.

    Counter/lounge visits, activity check-ins (plus accidental double swipes) and a small share
    of unknown cards (other clubs' tags, blank cards) as real readers see.
    """
    rng = stream(seed, "swipes")
    act_reader = np.full(len(REGIONS.codes), -1)
    for r in readers.of_kind(0):
        act_reader[readers.region[r]] = r

    ai = np.flatnonzero(attendance["source"] == 2)
    a_ms = attendance["ts"][ai] * 1000 + rng.integers(0, 1000, size=len(ai))
    a_reader = act_reader[activities["region"][attendance["activity"][ai]]]
    di = np.flatnonzero(attendance["double_swipe"])
    d_ms = attendance["ts"][di] * 1000 + rng.integers(1500, 8000, size=len(di))
    d_reader = act_reader[activities["region"][attendance["activity"][di]]]

    known = len(visits["member"]) + len(ai) + len(di)
    unknown = max(1, int(round(0.005 * known)))
    u_reader = rng.integers(0, len(readers.reader_id), size=unknown)
    u_activity = np.full(unknown, -1)
    u_day = tl.start_day + (rng.random(unknown) * tl.n_days).astype(np.int64)
    u_ms = local_ts(u_day, rng.integers(10 * 3600, 21 * 3600, size=unknown)) * 1000
    for r in readers.of_kind(0):  # unknown cards at an entrance come during an activity
        here = np.flatnonzero(u_reader == r)
        held = np.flatnonzero(activities["held"] & (activities["region"] == readers.region[r]))
        if len(held) == 0:
            u_reader[here] = readers.of_kind(2)[0]
            continue
        pick = held[rng.integers(0, len(held), size=len(here))]
        u_activity[here] = pick
        u_ms[here] = (activities["starts"][pick] + rng.integers(-600, 2400, size=len(here))) * 1000
    u_ms = u_ms + rng.integers(0, 1000, size=unknown)
    is_entrance = readers.kind[u_reader] == 0
    u_activity = np.where(is_entrance, u_activity, -1)
    u_number = _unknown_cards(rng, cards["number"], unknown)

    card_idx = np.concatenate(
        [visits["card"], attendance["card"][ai], attendance["card"][di], np.full(unknown, -1)]
    )
    s = {
        "reader": np.concatenate([visits["reader"], a_reader, d_reader, u_reader]),
        "ts_ms": np.concatenate([visits["ts_ms"], a_ms, d_ms, u_ms]),
        "kind": np.concatenate(
            [
                np.zeros(len(visits["member"]), np.int8),
                np.ones(len(ai), np.int8),
                np.full(len(di), 2, np.int8),
                np.full(unknown, 3, np.int8),
            ]
        ),
        "src": np.concatenate([np.arange(len(visits["member"])), ai, di, np.arange(unknown)]),
        "number": np.where(card_idx >= 0, cards["number"][np.maximum(card_idx, 0)], 0),
        "version": np.where(card_idx >= 0, cards["chip_version"][np.maximum(card_idx, 0)], 0),
        "activity": np.concatenate(
            [
                np.full(len(visits["member"]), -1),
                attendance["activity"][ai],
                attendance["activity"][di],
                u_activity,
            ]
        ),
    }
    s["number"][s["kind"] == 3] = u_number
    s["version"][s["kind"] == 3] = rng.integers(1, 256, size=unknown)
    s, _ = sort_by(s, "reader", "ts_ms", "kind", "src")
    reader_first = np.searchsorted(s["reader"], s["reader"], side="left")
    s["seq"] = np.arange(len(s["reader"])) - reader_first + 1
    visit_rows = np.flatnonzero(s["kind"] == 0)
    visits["seq"] = np.empty(len(visits["member"]), dtype=np.int64)
    visits["seq"][s["src"][visit_rows]] = s["seq"][visit_rows]
    return s


def _unknown_cards(rng, numbers: np.ndarray, count: int) -> np.ndarray:
    """Random EM4100-style numbers that are not any club card."""
    out = rng.integers(1_000_000_000, 1 << 32, size=count)
    for _ in range(100):
        clash = np.isin(out, numbers)
        if not clash.any():
            return out
        out[clash] = rng.integers(1_000_000_000, 1 << 32, size=int(clash.sum()))
    raise RuntimeError("could not draw unknown card numbers")


# -- care -----------------------------------------------------------------------------------------
TRIGGERS = ("manual", "birthday", "purchase", "activity")
CONTROL_SHARE = 0.1
RESPONSE_WINDOW_DAYS = 30


def simulate_cares(
    seed: int,
    m: Arrays,
    tl: Timeline,
    purchases: Arrays,
    activities: Arrays,
    attendance: Arrays,
) -> tuple[Arrays, Arrays]:
    """Care runs (birthday monthly, purchase weekly, after some activities, manual campaigns),
    their contacts with a random control group, and who responded within 30 days."""
    rng = stream(seed, "cares")
    n = len(m["join_ts"])
    end_ts = tl.end_ts
    gone = np.where(m["archived_ts"] != NA, m["archived_ts"], np.iinfo(np.int64).max)
    birth_month = (
        m["birth_day"].astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12
    ) + 1
    runs: list[tuple[int, int, int, int]] = []  # (ts, trigger, channel, ref)
    c_care, c_member, c_ref = [], [], []

    def add_run(ts: int, trigger: int, channel: int, ref: int, members: np.ndarray, refs=None):
        runs.append((ts, trigger, channel, ref))
        c_care.append(np.full(len(members), len(runs) - 1))
        c_member.append(members)
        c_ref.append(np.full(len(members), -1) if refs is None else refs)

    eligible = lambda ts: (m["join_ts"] < ts) & (gone > ts)  # noqa: E731
    for first in tl.month_starts():
        day = (first - tl.start).days + tl.start_day
        ts = int(local_ts(day, 9 * 3600))
        who = np.flatnonzero(eligible(ts) & (birth_month == first.month))
        add_run(ts, 1, -1, -1, who)
        if first.month % 3 == 0:  # a quarterly campaign to a tenth of the members
            ts_c = int(local_ts(day + 14, 10 * 3600))
            if ts_c < end_ts:
                who = np.flatnonzero(eligible(ts_c) & (rng.random(n) < 0.1))
                add_run(ts_c, 0, int(rng.choice([0, 1, 2, 3, 4])), -1, who)
    # Weekly thank-you care for last week's purchases (one contact per member and run).
    monday0 = tl.start_day + (7 - (tl.start_day + 3) % 7) % 7  # day 0 (1970-01-01) was a Thursday
    regular = np.flatnonzero(~purchases["is_return"] & (purchases["ts"] >= tl.start_ts))
    run_day = monday0 + 7 * ((local_day(purchases["ts"][regular]) - monday0) // 7 + 1)
    for day in np.unique(run_day):
        ts = int(local_ts(day, 10 * 3600))
        if ts >= end_ts:
            continue
        rows = regular[run_day == day]
        members, first_row = np.unique(purchases["member"][rows], return_index=True)
        alive = gone[members] > ts
        add_run(ts, 2, -1, -1, members[alive], rows[first_row][alive])
    # Thanks after some activities.
    att_by_activity = np.argsort(attendance["activity"], kind="stable")
    act_sorted = attendance["activity"][att_by_activity]
    for k in np.flatnonzero(activities["care"]):
        ts = int(local_ts(local_day(activities["ends"][k]) + 1, 10 * 3600))
        if ts >= end_ts:
            continue
        lo, hi = np.searchsorted(act_sorted, [k, k + 1])
        members = attendance["member"][att_by_activity[lo:hi]]
        add_run(ts, 3, -1, int(k), np.unique(members[gone[members] > ts]))

    run_ts = np.array([r[0] for r in runs], dtype=np.int64)
    order = np.argsort(run_ts, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    cares = {
        "ts": run_ts[order],
        "trigger": np.array([r[1] for r in runs], dtype=np.int8)[order],
        "channel": np.array([r[2] for r in runs], dtype=np.int8)[order],
        "activity": np.array([r[3] for r in runs], dtype=np.int64)[order],
    }
    cares["control_share"] = np.where(cares["trigger"] == 0, 0.0, CONTROL_SHARE)
    c = {
        "care": rank[np.concatenate(c_care)] if c_care else np.zeros(0, np.int64),
        "member": np.concatenate(c_member) if c_member else np.zeros(0, np.int64),
        "purchase": np.concatenate(c_ref) if c_ref else np.zeros(0, np.int64),
    }
    c, _ = sort_by(c, "member", "care")
    k = len(c["member"])
    trig = cares["trigger"][c["care"]]
    member = c["member"]
    pref = m["pref_channel"][member]
    has_email = m["email_style"][member] >= 0
    big_purchase = np.where(
        c["purchase"] >= 0, purchases["product"][np.maximum(c["purchase"], 0)] <= 2, False
    )
    channel = np.select(
        [trig == 0, trig == 1, trig == 2],
        [
            cares["channel"][c["care"]],
            np.where((pref == 1) & has_email, 1, 0),
            np.where(big_purchase, 2, 0),
        ],
        0,
    )
    channel = np.where((channel == 1) & ~has_email, 0, channel)
    c["channel"] = channel.astype(np.int8)
    c["ts"] = cares["ts"][c["care"]]
    control = rng.random(k) < cares["control_share"][c["care"]]
    electronic = channel <= 1
    failed = ~control & electronic & (m["contact_failed"][member] | (rng.random(k) < 0.01))
    c["status"] = np.where(control, 3, np.where(failed, 2, 1)).astype(
        np.int8
    )  # 1 sent 2 failed 3 control
    reached = c["status"] == 1
    # The care's effect (treated minus control) is weaker off the preferred channel.
    factor = np.where(channel == pref, 1.0, CHANNEL_FACTOR)
    p_ctrl = m["p_ctrl"][member]
    p = np.where(reached, p_ctrl + (m["p_treat"][member] - p_ctrl) * factor, p_ctrl)
    delay = np.minimum(rng.exponential(2.5, size=k), RESPONSE_WINDOW_DAYS) * DAY
    responded = c["ts"] + delay.astype(np.int64) + 600
    ok = (
        (rng.random(k) < p)
        & (c["ts"] < m["churn_ts"][member])
        & (responded < m["churn_ts"][member])
        & (responded < end_ts)
    )
    c["responded"] = np.where(ok, responded, NA)
    c["gift"] = reached & (trig == 1)  # birthday gift points for those reached
    return cares, c


# -- complaints -----------------------------------------------------------------------------------
DUE_HOURS = np.array([360, 168, 72, 24])  # low, normal, high, urgent
COMPLAINT_TYPES = ("sales_service", "house_quality", "property_management", "non_service")
COMPLAINT_CHANNELS = ("written", "phone", "email", "visit", "legal", "website")


def simulate_complaints(seed: int, m: Arrays, tl: Timeline) -> tuple[Arrays, Arrays]:
    """Complaints (more often from members at higher churn risk) and their handling steps."""
    rng = stream(seed, "complaints")
    lo, hi = active_window(m, tl)
    member, t = poisson_times(rng, m["complaint_y"] / 365.25, lo, hi)
    t = snap_to_hours(rng, t, lo[member], hi[member], 8.5, 20)
    c, _ = sort_by({"member": member, "ts": t}, "member", "ts")
    k = len(c["member"])
    c["type"] = weighted_choice(rng, (0.3, 0.3, 0.3, 0.1), k).astype(np.int8)
    c["channel"] = weighted_choice(rng, (0.1, 0.4, 0.1, 0.2, 0.05, 0.15), k).astype(np.int8)
    c["importance"] = weighted_choice(rng, (0.2, 0.55, 0.2, 0.05), k).astype(np.int8)
    c["due"] = c["ts"] + DUE_HOURS[c["importance"]] * 3600
    c["receiver"] = rng.integers(0, 8, size=k).astype(np.int8)
    c["content"] = rng.integers(0, 4, size=k).astype(np.int8)
    c["card"] = card_at(m, c["member"], c["ts"])
    window = DUE_HOURS[c["importance"]] * 3600
    late = rng.random(k) < 0.15
    duration = window * np.where(
        late, rng.uniform(1.1, 3.0, size=k), rng.uniform(0.15, 0.95, size=k)
    )
    stuck = rng.random(k) < 0.03  # handling stalled: listed as overdue
    c["closed"] = np.where(stuck, NA, c["ts"] + duration.astype(np.int64))
    steps_n = rng.integers(1, 5, size=k)
    # Steps spread over the handling time; those after the end of the history did not happen.
    s_member = np.repeat(np.arange(k), steps_n)
    position = np.arange(len(s_member)) - np.repeat(np.cumsum(steps_n) - steps_n, steps_n)
    frac = (position + rng.uniform(0.1, 0.9, size=len(s_member))) / steps_n[s_member]
    span = np.where(stuck, window * 0.8, duration)[s_member]
    s_ts = c["ts"][s_member] + np.maximum(1800, (frac * span).astype(np.int64))
    happened = s_ts < tl.end_ts
    closed_ok = (c["closed"] != NA) & (c["closed"] < tl.end_ts)
    c["closed"] = np.where(closed_ok, c["closed"], NA)
    n_done = np.bincount(s_member[happened], minlength=k)
    c["status"] = np.where(closed_ok, 2, np.where(n_done > 0, 1, 0)).astype(np.int8)
    sat = (
        np.where(
            late,
            weighted_choice(rng, (0.3, 0.35, 0.25, 0.1, 0.0), k),
            weighted_choice(rng, (0.02, 0.05, 0.2, 0.4, 0.33), k),
        )
        + 1
    )
    c["satisfaction"] = np.where(closed_ok & (rng.random(k) < 0.85), sat, NA)
    c["closer"] = rng.integers(0, 8, size=k).astype(np.int8)
    c["goodwill"] = closed_ok & (rng.random(k) < 0.25)
    c["goodwill_points"] = rng.choice([100, 200, 300], size=k)
    steps = {
        "complaint": s_member[happened],
        "ts": s_ts[happened],
        "position": position[happened],
        "last": (position == steps_n[s_member] - 1)[happened],
        "handler": rng.integers(0, 3, size=len(s_member))[happened],
        "expected": (s_ts + rng.integers(1, 5, size=len(s_member)) * DAY)[happened],
    }
    return c, steps
