"""The latent truth of the demo data, kept outside the operational DB, and true probabilities.

``clubcrm demo-data`` writes ``{truth_dir}/members.parquet`` (one row per member: the latent
parameters below), ``duplicates.parquet`` (which pending/merged application is which member,
and the slips it contains) and ``meta.json``. Nothing here is visible to the CRM or the
warehouse: it is the answer key against which churn, buyer and care models are judged.

The behaviour model (all rates per year; days of 365.25):

- member ``i`` joins at ``J_i`` and is *active* until a latent churn time
  ``C_i = J_i + D_i`` with ``D_i ~ Exponential(h_i)``: a constant hazard ``h_i``, lower for
  engaged and VIP members. After ``C_i`` the member never buys, attends, swipes or redeems
  again (archiving follows months later for some of them);
- while active, purchases (types new/additional) form a Poisson process with rate ``lambda_i``
  (engagement, wealth and tier raise it); counter and lounge visits, each one card swipe and
  the only moments a member redeems points, form a Poisson process with rate ``v_i`` (once
  the first card is issued, at most 20 days after joining); activity attendance is the
  thinning of the region's Poisson activity schedule (rate ``rho_g``) with probability
  ``pi_i``, hence Poisson with rate ``a_i = rho_g * pi_i``. The three are independent, so any
  qualifying event arrives at rate ``r_i = lambda_i + v_i + a_i``;
- care response: each contact of an active member is answered within 30 days with
  probability ``p_respond_control`` (control group, or a failed send) or, when reached,
  ``p_respond_treated`` (on the member's preferred channel; on another channel the effect
  ``p_respond_treated - p_respond_control`` is multiplied by 0.6).
  *Sure things* answer either way, *persuadables* mostly only when cared for, *lost causes*
  rarely. Answers do not change buying or churn;
- complaints arrive at a rate that grows with the churn hazard (unhappy members leave sooner).

True probabilities for an as-of date ``t`` (the end of that day, UTC), for members who joined
on or before it, conditioning on the latent parameters and on whether the member is still
active at ``t`` (memorylessness makes the remaining active time ``Exponential(h)`` again):

- ``p_buy`` = P(at least one purchase in (t, t + B]) =
  ``1[C > t] * lambda / (lambda + h) * (1 - exp(-(lambda + h) * B))``;
- ``p_churn`` = P(no purchase, attendance, swipe or redemption in (t, t + H]) =
  ``1 - 1[C > t] * r / (r + h) * (1 - exp(-(r + h) * H))``.

Approximations, all small: events are snapped to opening hours on their day; returns (a
purchase of type ``return``) and double swipes happen only together with other events; the
formulas assume activities keep being scheduled after the end of the history.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from clubcrm.settings import Settings

MEMBERS_FILE = "members.parquet"
DUPLICATES_FILE = "duplicates.parquet"
META_FILE = "meta.json"
MODEL_VERSION = "demodata-1"
YEAR_DAYS = 365.25


def truth_members(settings: Settings) -> pd.DataFrame:
    """The latent parameters of every member (see the module docstring)."""
    path = settings.truth_dir / MEMBERS_FILE
    if not path.exists():
        raise FileNotFoundError(f"no demo truth at {path}: run `clubcrm demo-data` first")
    return pd.read_parquet(path)


def true_probabilities(
    settings: Settings, as_of: date, buyer_horizon_days: int, churn_horizon_days: int
) -> pd.DataFrame:
    """Each member's true ``p_buy`` and ``p_churn`` after ``as_of`` (closed form, see above).

    Members who joined after ``as_of`` are left out. Columns: member_no, p_buy, p_churn.
    """
    if buyer_horizon_days <= 0 or churn_horizon_days <= 0:
        raise ValueError("horizons must be positive numbers of days")
    truth = truth_members(settings)
    cutoff = pd.Timestamp(datetime.combine(as_of + timedelta(days=1), datetime.min.time(), UTC))
    joined = pd.to_datetime(truth["joined_at"]) <= pd.Timestamp(as_of)
    truth = truth[joined].reset_index(drop=True)
    active = (truth["latent_churn_at"] > cutoff).to_numpy(dtype=float)
    lam = truth["purchase_rate_per_year"].to_numpy() / YEAR_DAYS
    hazard = truth["churn_hazard_per_year"].to_numpy() / YEAR_DAYS
    rate = truth["event_rate_per_year"].to_numpy() / YEAR_DAYS
    b, h = float(buyer_horizon_days), float(churn_horizon_days)
    p_buy = active * lam / (lam + hazard) * -np.expm1(-(lam + hazard) * b)
    p_churn = 1.0 - active * rate / (rate + hazard) * -np.expm1(-(rate + hazard) * h)
    return pd.DataFrame({"member_no": truth["member_no"], "p_buy": p_buy, "p_churn": p_churn})


def _timestamps(seconds: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(seconds, dtype=np.int64), type=pa.timestamp("s", tz="UTC"))


def _dates(days: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(days, dtype=np.int64).astype("int32"), type=pa.int32()).cast(
        pa.date32()
    )


def _write(table: pa.Table, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


def write_truth(truth_dir: Path, world, seed: int, months: int, activity: float = 1.0) -> None:
    """Write the truth files of a generated world (replacing earlier ones)."""
    from demodata.people import CARE_CHANNELS, CARE_TYPES, REGIONS
    from demodata.tables import member_no

    truth_dir.mkdir(parents=True, exist_ok=True)
    m, tl = world.m, world.tl
    n = world.n
    idx = np.arange(n)
    event_rate = m["lam_y"] + m["visit_y"] + m["alpha_eff_y"]
    churn_local_day = (m["churn_ts"] + 8 * 3600) // 86400
    members = pa.table(
        {
            "member_no": member_no(idx),
            "member_id": idx + 1,
            "joined_at": _dates(m["join_day"]),
            "legacy": m["legacy"],
            "region": np.array(REGIONS.codes)[m["region"]],
            "tier": np.where(m["vip"], "vip", "ordinary"),
            "card_issued_at": _timestamps(m["card1_ts"]),
            "latent_churn_at": _timestamps(m["churn_ts"]),
            "latent_churn_date": _dates(churn_local_day),
            "churned_by_end": m["churn_ts"] < tl.end_ts,
            "engagement": m["engagement"],
            "purchase_rate_per_year": m["lam_y"],
            "churn_hazard_per_year": m["hazard_y"],
            "visit_rate_per_year": m["visit_y"],
            "attendance_rate_per_year": m["alpha_eff_y"],
            "event_rate_per_year": event_rate,
            "care_type": np.array(CARE_TYPES)[m["care_type"]],
            "preferred_channel": np.array(CARE_CHANNELS)[m["pref_channel"]],
            "p_respond_treated": m["p_treat"],
            "p_respond_control": m["p_ctrl"],
            "redeem_propensity": m["redeem_p"],
            "complaint_rate_per_year": m["complaint_y"],
        }
    )
    _write(members, truth_dir / MEMBERS_FILE)
    d = world.duplicates
    duplicates = pa.table(
        {
            "application_id": world.derived["n_apps"] + 1 + np.arange(len(d["member"])),
            "member_no": member_no(d["member"]),
            "status": np.where(d["status"] == 1, "merged", "pending"),
            "slips": d["kinds"],
            "id_number_typo": d["id_typo"],
        }
    )
    _write(duplicates, truth_dir / DUPLICATES_FILE)
    meta = {
        "model_version": MODEL_VERSION,
        "seed": seed,
        "members": n,
        "months": months,
        "start_date": tl.start.isoformat(),
        "end_date": tl.end.isoformat(),
        "p_buy": "1[C>t] * lambda/(lambda+h) * (1 - exp(-(lambda+h)*B))",
        "p_churn": "1 - 1[C>t] * r/(r+h) * (1 - exp(-(r+h)*H)), r = lambda + visits + attendance",
    }
    if activity != 1.0:  # event rates multiplied (scale benchmarks); absent means 1
        meta["activity"] = activity
    tmp = truth_dir / (META_FILE + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, truth_dir / META_FILE)
