"""The points ledger: awards, redemptions at counter visits, yearly expiry, balances.

Rules simulated (DOMAIN.md "Points"):
- awards: purchase (when 100% paid), activity attendance, birthday care gift, complaint
  goodwill, lounge swipe, manual, and opening balances migrated for legacy members; rule-made
  awards of the last week may still be *pending* (a supervisor approves them);
- points expire at the end of the calendar year after the year they were posted ("次年年底清零"):
  the run on 1 January takes what is left of the awards posted two years before;
- spending takes the oldest points first, so what is left of award ``k`` is
  ``clip(cum_k - spent, 0, points_k)`` (spending always consumes a prefix of the awards);
- a member redeems at a counter or lounge visit, only a plan that is open and affordable, so
  balances never go negative; the balance equals the sum of posted entries.
"""

from __future__ import annotations

import numpy as np

from demodata.behaviour import Arrays, card_at, sort_by
from demodata.reference import Plans
from demodata.rng import stream
from demodata.timebase import DAY, NA, Timeline, local_day, local_ts
from operational.models.cards_points import POINT_EVENT_TYPES as EVENT_TYPES

E = {name: k for k, name in enumerate(EVENT_TYPES)}
POSTED, PENDING, REJECTED = 0, 1, 2
PENDING_DAYS = 7
_SHIFT = 1 << 34  # key = member * 2**34 + seconds since a base (544 years of room)


def _years(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def _expiry_day(posted_year: np.ndarray) -> np.ndarray:
    """31 December of the year after ``posted_year`` (day numbers)."""
    return (posted_year + 2 - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(
        np.int64
    ) - 1


def _year_start_day(year: int) -> int:
    return int(np.datetime64(f"{year:04d}-01-01", "D").astype(np.int64))


def _award(member, created, points, etype, src, card=None, posted=None, status=None) -> Arrays:
    k = len(member)
    return {
        "member": np.asarray(member, dtype=np.int64),
        "created": np.asarray(created, dtype=np.int64),
        "posted": np.asarray(created if posted is None else posted, dtype=np.int64),
        "points": np.asarray(points, dtype=np.int64),
        "etype": np.full(k, E[etype], dtype=np.int8),
        "status": np.zeros(k, np.int8) if status is None else np.asarray(status, np.int8),
        "src": np.asarray(src, dtype=np.int64),
        "card": np.full(k, -1, dtype=np.int64) if card is None else np.asarray(card, np.int64),
    }


def _rule_status(rng, created: np.ndarray, end_ts: int, share: float) -> tuple[np.ndarray, ...]:
    """Rule-made awards of the last week may wait for approval; others post within 2 days."""
    k = len(created)
    recent = created >= end_ts - PENDING_DAYS * DAY
    posted = created + rng.integers(1800, 2 * DAY, size=k)
    pending = (recent & (rng.random(k) < share)) | (posted >= end_ts)
    return np.where(pending, PENDING, POSTED), np.where(pending, NA, posted)


def simulate_ledger(
    seed: int,
    m: Arrays,
    tl: Timeline,
    purchases: Arrays,
    activities: Arrays,
    attendance: Arrays,
    visits: Arrays,
    contacts: Arrays,
    complaints: Arrays,
    plans: Plans,
) -> tuple[Arrays, Arrays, Arrays]:
    """(point entries, redemptions, balances), entries sorted by member and time."""
    rng = stream(seed, "ledger")
    n = len(m["join_ts"])
    end_ts = tl.end_ts
    awards: list[Arrays] = []

    legacy = np.flatnonzero(m["legacy"] & (rng.random(n) < 0.7))
    opening = np.clip(np.round(rng.lognormal(6.3, 0.9, size=len(legacy))), 10, 20000)
    awards.append(
        _award(legacy, np.full(len(legacy), tl.start_ts + 1800), opening, "opening", legacy)
    )

    pi = np.flatnonzero((purchases["fully_ts"] != NA) & ~purchases["is_return"])
    pts = np.minimum(5000, purchases["amount"][pi] // 100).astype(np.int64)
    pi, pts = pi[pts >= 1], pts[pts >= 1]
    created = purchases["fully_ts"][pi] + 600
    status, posted = _rule_status(rng, created, end_ts, 0.6)
    card = card_at(m, purchases["member"][pi], created)
    awards.append(
        _award(purchases["member"][pi], created, pts, "purchase", pi, card, posted, status)
    )

    ppa = activities["points"][attendance["activity"]]
    ai = np.flatnonzero(ppa > 0)
    by_list = attendance["source"][ai] != 2
    after = activities["ends"][attendance["activity"][ai]] + rng.integers(
        3600, 2 * DAY, size=len(ai)
    )
    created = np.where(by_list, np.minimum(after, end_ts - 60), attendance["ts"][ai] + 5)
    status, posted = _rule_status(rng, created, end_ts, 0.6)
    awards.append(
        _award(
            attendance["member"][ai],
            created,
            ppa[ai],
            "activity",
            ai,
            attendance["card"][ai],
            posted,
            status,
        )
    )

    vi = np.flatnonzero(visits["lounge"])
    vpts = np.where(m["vip"][visits["member"][vi]], 20, 10)
    created = visits["ts"][vi] + 1
    status, posted = _rule_status(rng, created, end_ts, 0.3)
    posted = np.where(status == POSTED, created, posted)  # reader points post at once
    awards.append(
        _award(visits["member"][vi], created, vpts, "swipe", vi, visits["card"][vi], posted, status)
    )

    ci = np.flatnonzero(contacts["gift"])
    cpts = np.where(m["vip"][contacts["member"][ci]], 300, 100)
    created = contacts["ts"][ci] + 60
    awards.append(
        _award(
            contacts["member"][ci],
            created,
            cpts,
            "care",
            ci,
            card_at(m, contacts["member"][ci], created),
        )
    )

    qi = np.flatnonzero(complaints["goodwill"])
    created = complaints["closed"][qi] + rng.integers(3600, DAY, size=len(qi))
    keep = created < end_ts
    qi, created = qi[keep], created[keep]
    awards.append(
        _award(
            complaints["member"][qi],
            created,
            complaints["goodwill_points"][qi],
            "complaint",
            qi,
            card_at(m, complaints["member"][qi], created),
        )
    )

    lo = np.maximum(m["join_ts"], tl.start_ts)
    hi = np.minimum(m["churn_ts"], end_ts)
    mi = np.flatnonzero((rng.random(n) < 0.03) & (hi > lo + DAY))
    created = lo[mi] + (rng.random(len(mi)) * (hi[mi] - lo[mi])).astype(np.int64)
    created = np.minimum(
        local_ts(local_day(created), rng.integers(9 * 3600, 18 * 3600, size=len(mi))), end_ts - 60
    )
    created = np.maximum(created, lo[mi])
    status, posted = _rule_status(rng, created, end_ts, 0.6)
    rejected = rng.random(len(mi)) < 0.03
    status = np.where(rejected, REJECTED, status)
    posted = np.where(rejected, NA, posted)
    mpts = rng.choice([50, 100, 200, 300, 500], size=len(mi))
    awards.append(_award(mi, created, mpts, "manual", mi, card_at(m, mi, created), posted, status))

    a = {k: np.concatenate([x[k] for x in awards]) for k in awards[0]}
    redemptions, expiries, spent = _spend(rng, m, tl, a, visits, plans)

    # What is left of each posted award after oldest-first spending; when it expires.
    is_posted = a["status"] == POSTED
    order = np.flatnonzero(is_posted)
    order = order[
        np.lexsort((a["src"][order], a["etype"][order], a["posted"][order], a["member"][order]))
    ]
    cum = np.concatenate([[0], np.cumsum(a["points"][order])])
    owner = a["member"][order]
    first = np.searchsorted(owner, np.arange(n))  # each member's first posted award
    left = cum[1:] - cum[first[owner]] - spent[owner]
    a["remaining"] = np.full(len(a["member"]), NA)
    a["remaining"][order] = np.clip(left, 0, a["points"][order])
    when = np.where(is_posted, a["posted"], a["created"])
    a["expires_day"] = _expiry_day(_years(local_day(when)))
    a["year"] = np.full(len(a["member"]), 0, dtype=np.int64)

    neg = [
        {
            "member": redemptions["member"],
            "created": redemptions["ts"],
            "posted": redemptions["ts"],
            "points": -redemptions["cost"],
            "etype": np.full(len(redemptions["ts"]), E["redemption"], np.int8),
            "status": np.zeros(len(redemptions["ts"]), np.int8),
            "src": np.arange(len(redemptions["ts"])),
            "card": redemptions["card"],
            "remaining": np.full(len(redemptions["ts"]), NA),
            "expires_day": np.full(len(redemptions["ts"]), NA),
            "year": np.zeros(len(redemptions["ts"]), np.int64),
        },
        {
            "member": expiries["member"],
            "created": expiries["ts"],
            "posted": expiries["ts"],
            "points": -expiries["points"],
            "etype": np.full(len(expiries["ts"]), E["expiry"], np.int8),
            "status": np.zeros(len(expiries["ts"]), np.int8),
            "src": np.arange(len(expiries["ts"])),
            "card": np.full(len(expiries["ts"]), -1),
            "remaining": np.full(len(expiries["ts"]), NA),
            "expires_day": np.full(len(expiries["ts"]), NA),
            "year": expiries["year"],
        },
    ]
    entries = {k: np.concatenate([a[k], neg[0][k], neg[1][k]]) for k in a}
    entries, _ = sort_by(entries, "member", "created", "etype", "src")
    entries["approver"] = rng.integers(0, 3, size=len(entries["member"])).astype(np.int8)
    entries["clerk"] = rng.integers(0, 8, size=len(entries["member"])).astype(np.int8)
    # Let redemptions point at their ledger entry.
    red_rows = np.flatnonzero(entries["etype"] == E["redemption"])
    redemptions["entry"] = np.empty(len(redemptions["ts"]), dtype=np.int64)
    redemptions["entry"][entries["src"][red_rows]] = red_rows
    att_rows = np.flatnonzero(entries["etype"] == E["activity"])
    attendance["entry"] = np.full(len(attendance["member"]), -1)
    attendance["entry"][entries["src"][att_rows]] = att_rows

    posted = entries["status"] == POSTED
    pm = entries["member"][posted]
    balances = {
        "balance": np.bincount(pm, entries["points"][posted], minlength=n).astype(np.int64),
        "earned": np.bincount(pm, np.maximum(entries["points"][posted], 0), minlength=n).astype(
            np.int64
        ),
        "updated": np.maximum(m["join_ts"], _group_max(pm, entries["posted"][posted], n)),
    }
    return entries, redemptions, balances


def _group_max(group: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, NA)
    np.maximum.at(out, group, values)
    return out


def _spend(rng, m: Arrays, tl: Timeline, a: Arrays, visits: Arrays, plans: Plans):
    """Walk each member's redemption tries and expiry runs in time order (vectorised across
    members, one step per rank): returns redemptions, expiries and the total spent."""
    n = len(m["join_ts"])
    base_ts = tl.start_ts - 1
    posted = np.flatnonzero(a["status"] == POSTED)
    order = posted[np.lexsort((a["posted"][posted], a["member"][posted]))]
    keys = a["member"][order] * _SHIFT + (a["posted"][order] - base_ts)
    cum = np.concatenate([[0], np.cumsum(a["points"][order])])

    def earned_by(member: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Posted award points of ``member`` at or before ``t``."""
        first = np.searchsorted(keys, member * _SHIFT)
        upto = np.searchsorted(keys, member * _SHIFT + (t - base_ts), side="right")
        return cum[upto] - cum[first]

    # Spend events: redemption tries at visits, and the yearly expiry runs.
    ti = np.flatnonzero(visits["redeem_try"])
    tries = visits["ts"][ti] + 120 + (visits["redeem_u"][ti] * 480).astype(np.int64)
    active_until = np.minimum(m["churn_ts"], tl.end_ts)[visits["member"][ti]]
    ti, tries = ti[tries < active_until], tries[tries < active_until]
    events = [
        {
            "member": visits["member"][ti],
            "ts": tries,
            "kind": np.zeros(len(ti), np.int8),
            "src": ti,
            "cutoff": np.zeros(len(ti), np.int64),
        }
    ]
    for year in range(tl.start.year + 1, tl.end.year + 1):
        run = int(local_ts(_year_start_day(year), 600))
        if not tl.start_ts < run < tl.end_ts:
            continue
        cutoff = int(local_ts(_year_start_day(year - 1), 0)) - 1
        members = np.flatnonzero(earned_by(np.arange(n), np.full(n, cutoff)) > 0)
        events.append(
            {
                "member": members,
                "ts": np.full(len(members), run),
                "kind": np.ones(len(members), np.int8),
                "src": np.full(len(members), year),
                "cutoff": np.full(len(members), cutoff),
            }
        )
    ev = {k: np.concatenate([e[k] for e in events]) for k in events[0]}
    ev, _ = sort_by(ev, "member", "ts", "kind")
    count = len(ev["member"])
    first = np.searchsorted(ev["member"], ev["member"])
    rank = np.arange(count) - first
    by_rank = np.argsort(rank, kind="stable")
    bounds = np.searchsorted(rank[by_rank], np.arange(rank.max() + 2 if count else 1))

    spent = np.zeros(n, dtype=np.int64)
    taken = np.zeros(count, dtype=np.int64)
    plan_of = np.full(count, -1)
    choice_u = rng.random(count)
    for r in range(len(bounds) - 1):
        rows = by_rank[bounds[r] : bounds[r + 1]]
        if len(rows) == 0:
            break
        member = ev["member"][rows]
        expiry = ev["kind"][rows] == 1
        available = earned_by(member, ev["ts"][rows]) - spent[member]
        due = np.maximum(earned_by(member, ev["cutoff"][rows]) - spent[member], 0)
        # Redemption: a random open plan the member can afford.
        open_ = plans.active_at(local_day(ev["ts"][rows])) & (
            plans.cost[None, :] <= available[:, None]
        )
        options = open_.sum(axis=1)
        target = (choice_u[rows] * options).astype(np.int64)
        pick = np.argmax(np.cumsum(open_, axis=1) > target[:, None], axis=1)
        redeem = ~expiry & (options > 0)
        amount = np.where(expiry, due, np.where(redeem, plans.cost[pick], 0))
        taken[rows] = amount
        plan_of[rows] = np.where(redeem, pick, -1)
        spent += np.bincount(member, amount, minlength=n).astype(np.int64)

    red = np.flatnonzero((ev["kind"] == 0) & (plan_of >= 0))
    exp = np.flatnonzero((ev["kind"] == 1) & (taken > 0))
    visit = ev["src"][red]
    redemptions = {
        "member": ev["member"][red],
        "ts": ev["ts"][red],
        "plan": plan_of[red],
        "cost": taken[red],
        "card": visits["card"][visit],
        "visit": visit,
        "clerk": rng.integers(0, 8, size=len(red)).astype(np.int8),
    }
    redemptions, _ = sort_by(redemptions, "member", "ts")
    expiries = {
        "member": ev["member"][exp],
        "ts": ev["ts"][exp],
        "points": taken[exp],
        "year": ev["src"][exp],
    }
    return redemptions, expiries, spent
