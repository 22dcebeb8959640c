"""The demo-data generator: determinism, realism, consistency of the ledger and the spool."""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from demodata.generate import generate
from demodata.truth import true_probabilities, truth_members
from devices.spool import decode_line, finished_files

END = date(2026, 6, 30)
END_TS = datetime(2026, 6, 30, 16, 0, tzinfo=UTC)  # local midnight after the end date


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "LOCK"
    }


def _mod11_2(id_number: str) -> bool:
    """ISO 7064 MOD 11-2, written independently of operational.idnumber."""
    if not re.fullmatch(r"\d{17}[\dX]", id_number):
        return False
    total = sum(int(c) * (2 ** (17 - i) % 11) for i, c in enumerate(id_number[:17]))
    check = (12 - total % 11) % 11
    return id_number[17] == ("X" if check == 10 else str(check))


# -- determinism ----------------------------------------------------------------------------------
def test_same_seed_gives_identical_data_and_replaces_earlier_demo_data(
    history, tmp_path, make_history, dump_tables
) -> None:
    home = tmp_path / "again"
    # An earlier, different demo history in the same folder must vanish without a trace.
    make_history(home, members=300, seed=3)
    settings = make_history(home)
    assert dump_tables(settings.database_url) == dump_tables(history.database_url)
    assert _files(settings.spool_dir) == _files(history.spool_dir)
    assert _files(settings.truth_dir) == _files(history.truth_dir)
    assert not (settings.home / ".demo-spool-staging").exists()


def test_a_different_seed_gives_different_data(history, tmp_path, make_history) -> None:
    other = make_history(tmp_path / "other", seed=8)
    a = truth_members(history)
    b = truth_members(other)
    assert (a["engagement"] != b["engagement"]).mean() > 0.99
    con_a = sqlite3.connect(history.operational_sqlite_path)
    con_b = sqlite3.connect(other.operational_sqlite_path)
    names_a = [r[0] for r in con_a.execute("select name from members order by id")]
    names_b = [r[0] for r in con_b.execute("select name from members order by id")]
    assert sum(x != y for x, y in zip(names_a, names_b, strict=True)) > 0.9 * len(names_a)
    assert _files(history.spool_dir) != _files(other.spool_dir)


def test_generation_is_fast_and_reports_counts(tmp_path, settings_for) -> None:
    from operational.bootstrap import initialise

    settings = settings_for(tmp_path / "fast")
    initialise(settings.database_url, admin_password="admin-password-1")
    summary = generate(settings, members=2000, seed=11, end_date=END)
    assert summary.seconds < 20  # a few seconds on a 2-core machine
    assert summary.row_counts["members"] == 2000
    assert summary.row_counts["swipes"] == sum(
        len(p.read_text().splitlines()) for p in finished_files(settings.spool_dir)
    )


# -- integrity ------------------------------------------------------------------------------------
def test_foreign_keys_and_check_constraints_hold(history) -> None:
    con = sqlite3.connect(history.operational_sqlite_path)
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    # The loader's secondary indexes are back, and the dictionary and admin were kept.
    indexes = {r[0] for r in con.execute("select name from sqlite_master where type='index'")}
    assert {
        "ix_point_entries_member_status",
        "ix_members_mobile",
        "ix_cards_member_status",
    } <= indexes
    assert con.execute("select count(*) from staff_accounts where username='admin'").fetchone() == (
        1,
    )
    assert con.execute("select count(*) from dictionary_items").fetchone()[0] > 50


def test_nothing_happens_after_the_end_date_except_plans(tables) -> None:
    checks = {
        "members": ["created_at", "updated_at"],
        "purchases": ["purchased_at", "fully_paid_at", "created_at"],
        "purchase_payments": ["paid_at"],
        "point_entries": ["created_at", "posted_at"],
        "care_contacts": ["contacted_at", "responded_at"],
        "activity_attendance": ["attended_at"],
        "redemptions": ["redeemed_at"],
        "complaints": ["received_at", "closed_at"],
        "cards": ["issued_at", "ended_at"],
    }
    for table, columns in checks.items():
        for column in columns:
            late = [r for r in tables[table] if r[column] is not None and r[column] >= END_TS]
            assert not late, (table, column, late[:3])


# -- people ---------------------------------------------------------------------------------------
def test_id_numbers_are_valid_and_match_the_member(tables) -> None:
    from demodata.vocab import REGIONS

    counties = {c[0] for r in REGIONS.values() for c in r[3]}
    members = tables["members"]
    with_id = [m for m in members if m["id_number"] is not None]
    assert len(with_id) > 0.98 * len(members)
    for m in with_id:
        number = m["id_number"]
        assert _mod11_2(number), number
        assert number[:6] in counties and number[:2] == m["region"]
        assert date(int(number[6:10]), int(number[10:12]), int(number[12:14])) == m["birthday"]
        assert m["gender"] == ("M" if int(number[16]) % 2 else "F")
        age = (END - m["birthday"]).days / 365.25
        assert 20 <= age <= 75.1
    assert len({m["id_number"] for m in with_id}) == len(with_id)


def test_members_look_like_a_chinese_club(tables) -> None:
    from demodata.vocab import MOBILE_PREFIXES, SURNAMES

    members = tables["members"]
    prefixes = {p for p, _ in MOBILE_PREFIXES}
    surnames = [s for s, _ in SURNAMES]
    for m in members:
        assert re.fullmatch(r"M\d{8}", m["member_no"])
        assert re.fullmatch(r"1\d{10}", m["mobile"]) and m["mobile"][:3] in prefixes
        assert 2 <= len(m["name"]) <= 4 and any(m["name"].startswith(s) for s in surnames)
        if m["home_phone"]:
            assert re.fullmatch(r"0\d{2,3}-\d{8}", m["home_phone"])
        if m["email"]:
            assert re.fullmatch(r"[a-z0-9]+@[a-z0-9.]+\.com", m["email"])
    share = Counter(m["name"][0] for m in members)
    assert share.most_common(1)[0][0] in "王李张刘陈"  # the big surnames lead
    vip = sum(m["tier"] == "vip" for m in members) / len(members)
    assert 0.08 <= vip <= 0.17
    legacy = sum(m["joined_at"] < date(2024, 7, 1) for m in members) / len(members)
    assert 0.1 < legacy < 0.3
    assert {m["region"] for m in members} >= {"11", "31", "44"}
    assert {"active", "archived"} <= {m["status"] for m in members}


def test_exits_archive_members(tables) -> None:
    exits = {e["member_id"]: e for e in tables["exit_requests"]}
    assert exits and {e["status"] for e in exits.values()} >= {"approved"}
    for m in tables["members"]:
        e = exits.get(m["id"])
        if m["status"] == "archived":
            assert e["status"] == "approved" and m["archived_at"] == e["reviewed_at"]
            assert m["exit_type"] == e["exit_type"]
        elif m["status"] == "exit_pending":
            assert e["status"] == "pending" and e["reviewed_at"] is None
        else:
            assert e is None or e["status"] == "rejected"


def test_duplicate_applications_wait_in_review_and_resemble_their_member(history, tables) -> None:
    members = {m["member_no"]: m for m in tables["members"]}
    apps = {a["id"]: a for a in tables["applications"]}
    approved = [a for a in apps.values() if a["status"] == "approved"]
    assert len(approved) == sum(not m["is_incomplete"] for m in members.values())
    assert all(a["member_id"] is not None for a in approved)
    truth = pd.read_parquet(history.truth_dir / "duplicates.parquet")
    pending = truth[truth["status"] == "pending"]
    assert 0.015 * len(members) <= len(pending) <= 0.05 * len(members)
    assert (truth["status"] == "merged").any()
    ids = {m["id_number"] for m in members.values()} - {None}
    for row in truth.itertuples():
        app, member = apps[row.application_id], members[row.member_no]
        assert app["status"] == row.status
        assert app["birthday"] == member["birthday"] and app["region"] == member["region"]
        assert app["id_number"] not in ids  # no exact match, or review would not see it
        assert len(app["name"]) == len(member["name"])
        assert sum(a != b for a, b in zip(app["name"], member["name"], strict=True)) <= 1
        diff = [
            i
            for i, (a, b) in enumerate(zip(app["mobile"], member["mobile"], strict=True))
            if a != b
        ]
        assert len(diff) <= 2
        assert app["name"] != member["name"] or diff  # it is a look-alike, not a copy
        if "mobile_swap" in row.slips:
            assert len(diff) == 2 and diff[1] == diff[0] + 1
        if row.status == "pending":
            assert app["member_id"] is None
        else:
            assert app["member_id"] == member["id"]


# -- cards, purchases -----------------------------------------------------------------------------
def test_cards_follow_the_rules(tables) -> None:
    cards = tables["cards"]
    by_id = {c["id"]: c for c in cards}
    members = {m["id"]: m for m in tables["members"]}
    active_main = Counter(
        c["member_id"] for c in cards if c["kind"] == "main" and c["status"] == "active"
    )
    for member_id, m in members.items():
        assert active_main[member_id] == (0 if m["status"] == "archived" else 1)
    for c in cards:
        assert re.fullmatch(r"\d{10}", c["card_no"])
        if c["kind"] == "sub":
            parent = by_id[c["parent_card_id"]]
            assert parent["kind"] == "main" and parent["member_id"] == c["member_id"]
            assert c["expires_on"] is not None and c["chip_uid"] is None
        else:
            assert c["chip_uid"] == c["card_no"]
            assert c["card_type"] in ("vip", "ordinary")
        if c["status"] in ("replaced", "lost"):
            successor = by_id[c["replaced_by_card_id"]]
            assert (
                successor["member_id"] == c["member_id"] and successor["issued_at"] == c["ended_at"]
            )
    assert {"replaced", "lost", "expired", "cancelled"} <= {c["status"] for c in cards}


def test_purchases_are_paid_by_their_payments(tables) -> None:
    from decimal import Decimal

    paid = Counter()
    last = {}
    for p in tables["purchase_payments"]:
        paid[p["purchase_id"]] += p["amount"]
        last[p["purchase_id"]] = max(last.get(p["purchase_id"], p["paid_at"]), p["paid_at"])
    purchases = {p["id"]: p for p in tables["purchases"]}
    for p in purchases.values():
        assert paid[p["id"]] == p["paid_amount"]
        if p["purchase_type"] == "return":
            original = purchases[p["returns_purchase_id"]]
            assert original["member_id"] == p["member_id"] and p["amount"] == -original["amount"]
            assert original["fully_paid_at"] is None
            continue
        assert (p["fully_paid_at"] is not None) == (p["paid_amount"] == p["amount"])
        if p["fully_paid_at"] is not None:
            assert p["fully_paid_at"] == last[p["id"]]
        else:
            assert p["paid_amount"] < p["amount"] and p["paid_amount"] > Decimal(0)
    types = Counter(p["purchase_type"] for p in purchases.values())
    assert types["new"] and types["additional"] and types["return"]


# -- points ---------------------------------------------------------------------------------------
def test_balances_equal_the_posted_ledger(tables) -> None:
    posted = Counter()
    earned = Counter()
    remaining = Counter()
    for e in tables["point_entries"]:
        if e["status"] == "posted":
            posted[e["member_id"]] += e["points"]
            earned[e["member_id"]] += max(e["points"], 0)
            if e["points"] > 0:
                assert 0 <= e["remaining"] <= e["points"]
                remaining[e["member_id"]] += e["remaining"]
        else:
            assert e["posted_at"] is None
    balances = {b["member_id"]: b for b in tables["member_point_balances"]}
    assert set(balances) == {m["id"] for m in tables["members"]}
    for member_id, b in balances.items():
        assert b["balance"] == posted[member_id] >= 0
        assert b["earned_total"] == earned[member_id]
        # Oldest-first spending: what is left of the awards is exactly the balance.
        assert remaining[member_id] == b["balance"]
    kinds = Counter((e["event_type"], e["status"]) for e in tables["point_entries"])
    for kind in (
        "purchase",
        "activity",
        "care",
        "complaint",
        "redemption",
        "swipe",
        "manual",
        "expiry",
    ):
        assert kinds[(kind, "posted")] > 0, kind
    assert any(status == "pending" for _, status in kinds)


def test_purchase_points_only_when_fully_paid(tables) -> None:
    purchases = {p["id"]: p for p in tables["purchases"]}
    for e in tables["point_entries"]:
        if e["event_type"] == "purchase":
            p = purchases[int(e["reference"].split(":")[1])]
            assert p["fully_paid_at"] is not None and e["created_at"] >= p["fully_paid_at"]
            assert e["member_id"] == p["member_id"]


def test_redemptions_match_their_negative_entries(tables) -> None:
    entries = {e["id"]: e for e in tables["point_entries"]}
    plans = {p["id"]: p for p in tables["redemption_plans"]}
    assert tables["redemptions"]
    for r in tables["redemptions"]:
        entry = entries[r["point_entry_id"]]
        assert entry["event_type"] == "redemption" and entry["points"] == -r["points"]
        assert entry["member_id"] == r["member_id"]
        plan = plans[r["plan_id"]]
        assert r["points"] == plan["points_cost"]
        assert plan["starts_on"] <= r["redeemed_at"].date() + timedelta(days=1)


# -- care, complaints, activities -----------------------------------------------------------------
def test_care_control_groups_are_never_contacted(tables) -> None:
    cares = {c["id"]: c for c in tables["cares"]}
    contacts = tables["care_contacts"]
    for c in contacts:
        assert c["is_control"] == (c["status"] == "control")
    automatic = [c for c in contacts if cares[c["care_id"]]["trigger"] != "manual"]
    share = sum(c["is_control"] for c in automatic) / len(automatic)
    assert 0.07 < share < 0.13
    assert not any(c["is_control"] for c in contacts if cares[c["care_id"]]["trigger"] == "manual")
    assert {c["trigger"] for c in cares.values()} == {"manual", "birthday", "purchase", "activity"}
    assert any(c["responded_at"] for c in contacts if c["is_control"])


def test_care_changes_outcomes_only_for_persuadables(history, tables) -> None:
    truth = truth_members(history).set_index("member_id")
    rates: dict[tuple[str, bool], list[int]] = {}
    for c in tables["care_contacts"]:
        if c["status"] not in ("sent", "control"):
            continue
        t = truth.loc[c["member_id"]]
        if t["latent_churn_at"] <= c["contacted_at"] + timedelta(days=30):
            continue
        key = (t["care_type"], c["status"] == "sent")
        rates.setdefault(key, []).append(c["responded_at"] is not None)

    def uplift(kind: str) -> float:
        treated, control = rates[(kind, True)], rates[(kind, False)]
        return sum(treated) / len(treated) - sum(control) / len(control)

    assert uplift("persuadable") > 0.2
    assert abs(uplift("sure_thing")) < 0.15
    assert abs(uplift("lost_cause")) < 0.08


def test_complaints_have_due_dates_steps_and_satisfaction(tables) -> None:
    hours = {"low": 360, "normal": 168, "high": 72, "urgent": 24}
    steps = Counter(s["complaint_id"] for s in tables["complaint_steps"])
    statuses = Counter()
    for c in tables["complaints"]:
        statuses[c["status"]] += 1
        assert c["due_at"] - c["received_at"] == timedelta(hours=hours[c["importance"]])
        if c["status"] == "done":
            assert c["closed_at"] is not None and steps[c["id"]] >= 1
        else:
            assert c["closed_at"] is None and c["satisfaction"] is None
        if c["status"] == "pending":
            assert steps[c["id"]] == 0
    assert statuses["done"] > 0 and any(c["satisfaction"] for c in tables["complaints"])


def test_activities_have_attendance_and_costs(tables) -> None:
    statuses = Counter(a["status"] for a in tables["activities"])
    assert (
        statuses["closed"]
        and statuses["rejected"]
        and (statuses["planned"] or statuses["submitted"])
    )
    held = {a["id"] for a in tables["activities"] if a["status"] in ("closed", "running")}
    assert {a["activity_id"] for a in tables["activity_attendance"]} <= held
    kinds = {c["kind"] for c in tables["activity_costs"]}
    assert kinds == {"shared", "per_head"}
    sources = Counter(a["source"] for a in tables["activity_attendance"])
    assert sources["reader"] and sources["list"] and sources["single"]


# -- the spool ------------------------------------------------------------------------------------
def test_spool_files_follow_the_contract(history, tables) -> None:
    files = finished_files(history.spool_dir)
    assert files and not list(history.spool_dir.glob("*/*.open"))
    readers = {r["reader_id"]: r for r in tables["card_readers"]}
    cards = {c["card_no"]: c for c in tables["cards"]}
    seqs: dict[str, list[int]] = {}
    records = []
    for path in files:
        lines = path.read_text(encoding="utf-8").splitlines()
        first = decode_line(lines[0])
        assert path.name == f"{first['reader_id']}-{first['seq']:012d}.jsonl"
        assert path.parent.name == first["reader_id"] in readers
        months = set()
        for line in lines:
            r = decode_line(line)
            assert r["swipe_id"] == f"{r['reader_id']}-{r['seq']:012d}"
            assert r["purpose"] == readers[r["reader_id"]]["purpose"]
            datetime.fromisoformat(r["swiped_at"])
            assert r["swiped_at"].endswith("+00:00")
            seqs.setdefault(r["reader_id"], []).append(r["seq"])
            months.add(
                (datetime.fromisoformat(r["swiped_at"]) + timedelta(hours=8)).strftime("%Y-%m")
            )
            records.append(r)
        assert len(months) == 1  # one file per reader and (Beijing) month
    for seq in seqs.values():
        assert seq == list(range(1, len(seq) + 1))
    unknown = [r for r in records if r["card_no"] not in cards]
    assert 0.002 < len(unknown) / len(records) < 0.01
    assert len(records) / len(tables["members"]) >= 5
    for r in records:
        if r["card_no"] in cards:
            frame = int(r["raw"], 16) & 0xFFFFFFFF
            assert f"{frame:010d}" == r["card_no"] == cards[r["card_no"]]["chip_uid"]
    swipe_ids = {r["swipe_id"] for r in records}
    swipe_entries = [e for e in tables["point_entries"] if e["event_type"] == "swipe"]
    assert swipe_entries and all(e["idempotency_key"][6:] in swipe_ids for e in swipe_entries)
    uses = [u for u in tables["merchant_service_uses"] if u["source"] == "reader"]
    assert uses and all(u["idempotency_key"][6:] in swipe_ids for u in uses)
    codes = {a["code"] for a in tables["activities"]}
    checkins = [r for r in records if r["purpose"] == "activity_checkin"]
    assert checkins and all(r["target"] in codes for r in checkins)


# -- latent truth ---------------------------------------------------------------------------------
def _events_after(tables, history) -> dict[int, list[datetime]]:
    """Every purchase, attendance, swipe and redemption, by member id."""
    events: dict[int, list[datetime]] = {}
    for p in tables["purchases"]:
        if p["purchase_type"] != "return":
            events.setdefault(p["member_id"], []).append(p["purchased_at"])
    for a in tables["activity_attendance"]:
        events.setdefault(a["member_id"], []).append(a["attended_at"])
    for r in tables["redemptions"]:
        events.setdefault(r["member_id"], []).append(r["redeemed_at"])
    owner = {c["card_no"]: c["member_id"] for c in tables["cards"]}
    for path in finished_files(history.spool_dir):
        for line in path.read_text(encoding="utf-8").splitlines():
            r = decode_line(line)
            if r["card_no"] in owner:
                events.setdefault(owner[r["card_no"]], []).append(
                    datetime.fromisoformat(r["swiped_at"])
                )
    return events


def test_churned_members_fall_silent(history, tables) -> None:
    truth = truth_members(history).set_index("member_id")
    events = _events_after(tables, history)
    churn = truth["latent_churn_at"]
    for member_id, times in events.items():
        assert max(times) < churn.loc[member_id].to_pydatetime(), member_id
    assert not any(c in truth.columns for c in ("name", "id_number", "mobile"))


def test_true_probabilities_are_calibrated_against_the_history(history, tables) -> None:
    as_of = date(2026, 1, 1)
    cutoff = datetime(2026, 1, 2, tzinfo=UTC)
    probs = true_probabilities(history, as_of, buyer_horizon_days=90, churn_horizon_days=180)
    assert list(probs.columns) == ["member_no", "p_buy", "p_churn"]
    assert probs["p_buy"].between(0, 1).all() and probs["p_churn"].between(0, 1).all()
    members = {m["member_no"]: m for m in tables["members"]}
    assert all(members[no]["joined_at"] <= as_of for no in probs["member_no"])
    assert len(probs) == sum(m["joined_at"] <= as_of for m in members.values())

    bought = set()
    for p in tables["purchases"]:
        if p["purchase_type"] != "return" and cutoff < p["purchased_at"] <= cutoff + timedelta(
            days=90
        ):
            bought.add(p["member_id"])
    events = _events_after(tables, history)
    active = {
        member_id
        for member_id, times in events.items()
        if any(cutoff < t <= cutoff + timedelta(days=180) for t in times)
    }
    ids = probs["member_no"].map(lambda no: members[no]["id"])
    did_buy = ids.isin(bought)
    did_churn = ~ids.isin(active)
    assert abs(probs["p_buy"].mean() - did_buy.mean()) < 0.035
    assert abs(probs["p_churn"].mean() - did_churn.mean()) < 0.05
    # Discrimination: the truth separates what happened.
    assert probs["p_buy"][did_buy].mean() > probs["p_buy"][~did_buy].mean() + 0.1
    assert probs["p_churn"][did_churn].mean() > probs["p_churn"][~did_churn].mean() + 0.3
    # A latently churned member is certain to churn and never buys.
    gone = probs["p_churn"] == 1.0
    assert gone.any() and (probs.loc[gone, "p_buy"] == 0).all() and did_churn[gone].all()


def test_past_behaviour_predicts_buying(tables) -> None:
    cutoff = datetime(2026, 1, 2, tzinfo=UTC)
    before, after = set(), set()
    for p in tables["purchases"]:
        if p["purchase_type"] == "return":
            continue
        if cutoff - timedelta(days=365) < p["purchased_at"] <= cutoff:
            before.add(p["member_id"])
        elif cutoff < p["purchased_at"] <= cutoff + timedelta(days=90):
            after.add(p["member_id"])
    members = [m["id"] for m in tables["members"] if m["joined_at"] < date(2025, 1, 1)]
    rate_recent = sum(m in after for m in members if m in before) / sum(
        m in before for m in members
    )
    rate_other = sum(m in after for m in members if m not in before) / sum(
        m not in before for m in members
    )
    assert rate_recent > 1.5 * rate_other


def test_true_probabilities_need_positive_horizons(history) -> None:
    with pytest.raises(ValueError):
        true_probabilities(history, date(2026, 1, 1), 0, 180)


def test_the_data_do_not_depend_on_the_chunk_size(
    history, tmp_path, make_history, dump_tables, monkeypatch
) -> None:
    import demodata.generate

    monkeypatch.setattr(demodata.generate, "CHUNK_MEMBERS", 333)
    settings = make_history(tmp_path / "small-chunks")
    assert dump_tables(settings.database_url) == dump_tables(history.database_url)
