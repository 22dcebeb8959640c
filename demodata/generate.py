"""``clubcrm demo-data``: simulate a club's history and load it (DB, swipe spool, truth).

The whole history is simulated first as numpy arrays (:mod:`demodata.people`,
:mod:`demodata.behaviour`, :mod:`demodata.ledger`), then written member chunk by member chunk
in one DB transaction (:mod:`demodata.tables`, :mod:`demodata.load`), so memory stays bounded
by the arrays, not by Python row objects. The same seed and end date give identical rows,
spool files and truth files.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass
from datetime import date

import numpy as np

from clubcrm.settings import Settings
from demodata import behaviour, ledger, people, reference
from demodata.load import Loader
from demodata.rng import stream
from demodata.spoolout import check_spool_free, clear_spool, write_spool
from demodata.tables import World, chunk_tables, global_tables
from demodata.timebase import Timeline
from demodata.truth import write_truth

CHUNK_MEMBERS = 50_000
MIN_ACTIVITY, MAX_ACTIVITY = 0.1, 20.0  # multipliers of the members' event rates
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Summary:
    row_counts: dict[str, int]  # table -> rows written; "swipes" -> spool lines
    seconds: float


def intensify(m: dict[str, np.ndarray], activity: float) -> None:
    """Multiply each member's latent event rates by ``activity`` (1: the calibrated club).

    Purchases, counter and lounge visits (swipes, service uses, lounge points, redemption
    tries) and activity attendance all follow these rates, so every derived event (points
    awards, redemptions, expiries, care thank-yous) grows with them while the ledger rules stay
    the same; the truth files keep the scaled rates, so true probabilities stay calibrated.
    """
    if activity == 1.0:
        return
    for rate in ("lam_y", "visit_y", "alpha_target_y"):
        m[rate] = m[rate] * activity


def simulate(seed: int, members: int, tl: Timeline, activity: float = 1.0) -> World:
    """The complete synthetic history (arrays only; nothing written)."""
    m = people.simulate_members(seed, members, tl)
    intensify(m, activity)
    people.simulate_lifecycle(seed, m, tl)
    cards = behaviour.build_cards(seed, m, tl)
    staff = reference.build_staff(seed)
    merchants = reference.build_merchants(seed, members, tl)
    readers = reference.build_readers(merchants, tl)
    plans = reference.build_plans(seed, tl)
    purchases, payments = behaviour.simulate_purchases(seed, m, tl)
    activities, attendance = behaviour.simulate_activities(seed, m, tl, activity)
    visits, uses = behaviour.simulate_visits(seed, m, tl, readers, merchants)
    swipes = behaviour.build_swipes(seed, m, tl, readers, cards, visits, attendance, activities)
    cares, contacts = behaviour.simulate_cares(seed, m, tl, purchases, activities, attendance)
    complaints, steps = behaviour.simulate_complaints(seed, m, tl)
    entries, redemptions, balances = ledger.simulate_ledger(
        seed, m, tl, purchases, activities, attendance, visits, contacts, complaints, plans
    )
    # Stock left per plan: what the catalogue still holds after these redemptions.
    redeemed = np.bincount(redemptions["plan"], minlength=len(plans.cost))
    left = stream(seed, "stock").integers(0, 300, size=len(plans.cost))
    plans.rows["stock"] = np.where(plans.rows["active"] == 1, left + (redeemed == 0) * 50, 0)
    world = World(
        tl=tl,
        m=m,
        cards=cards,
        purchases=purchases,
        payments=payments,
        activities=activities,
        attendance=attendance,
        visits=visits,
        uses=uses,
        swipes=swipes,
        cares=cares,
        contacts=contacts,
        complaints=complaints,
        steps=steps,
        entries=entries,
        redemptions=redemptions,
        balances=balances,
        duplicates=people.simulate_duplicates(seed, m, tl),
        staff=staff,
        merchants=merchants,
        readers=readers,
        plans=plans,
    )
    world.prepare()
    return world


def generate(
    settings: Settings,
    members: int,
    seed: int,
    months: int = 24,
    end_date: date | None = None,
    activity: float = 1.0,
) -> Summary:
    """Replace the demo data: operational rows, swipe spool files and the truth files.

    ``activity`` multiplies every member's event rates (purchases, visits and swipes, service
    uses, activity attendance, and so the points they earn and spend): 1 is the calibrated
    club; larger values make scale benchmarks with long ledgers per member.

    Keeps the dictionary and staff accounts made by ``clubcrm init``; every other table is
    emptied first (in the same transaction, so a failure leaves the old data in place).
    """
    if members < 1:
        raise ValueError("members must be at least 1")
    if not 1 <= months <= 240:
        raise ValueError("months must be between 1 and 240")
    if not MIN_ACTIVITY <= activity <= MAX_ACTIVITY:
        raise ValueError(f"activity must be between {MIN_ACTIVITY:g} and {MAX_ACTIVITY:g}")
    started = time.perf_counter()
    tl = Timeline.ending(end_date or date.today(), months)
    world = simulate(seed, members, tl, activity)
    log.info("simulated %s members in %.1f s", members, time.perf_counter() - started)

    settings.spool_dir.mkdir(parents=True, exist_ok=True)
    check_spool_free(settings.spool_dir)
    staging = settings.spool_dir.parent / ".demo-spool-staging"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        with Loader(settings.database_url) as db:
            db.begin()
            db.clear()
            for name, columns in global_tables(world):
                db.insert(name, columns)
            for lo in range(0, members, CHUNK_MEMBERS):
                for name, columns in chunk_tables(world, lo, min(members, lo + CHUNK_MEMBERS)):
                    db.insert(name, columns)
                log.info(
                    "loaded %s members at %.1f s",
                    min(members, lo + CHUNK_MEMBERS),
                    time.perf_counter() - started,
                )
            swipes = write_spool(staging, world)  # before the commit: a failure rolls back all
            db.commit()
            counts = dict(sorted(db.counts.items()))
        log.info("committed at %.1f s", time.perf_counter() - started)
        clear_spool(settings.spool_dir)
        for folder in sorted(staging.iterdir()):
            os.replace(folder, settings.spool_dir / folder.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    counts["swipes"] = swipes
    write_truth(settings.truth_dir, world, seed, months, activity)
    return Summary(row_counts=counts, seconds=time.perf_counter() - started)
