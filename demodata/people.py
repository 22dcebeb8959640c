"""Members: who they are (identity, contact, region) and how they behave (latent traits).

Everything is drawn here as numpy arrays indexed by member (``member_id - 1``), members ordered
by the time they were approved, so member numbers grow with the join date. Strings are built
later, chunk by chunk (:mod:`demodata.tables`); this module holds only numbers.
"""

from __future__ import annotations

import numpy as np

from demodata import vocab
from demodata.rng import stream, weighted_choice
from demodata.timebase import DAY, NA, Timeline, local_day, local_ts
from operational.idnumber import CHECK_CHARACTERS, WEIGHTS
from operational.names import char_key, name_key

# -- dictionary codes used (operational/dictionary_defaults.py) -------------------------------
APP_CHANNELS = ("sales_site", "service_centre", "website", "purchase")
APP_CHANNEL_WEIGHTS = (0.40, 0.30, 0.15, 0.15)
APP_SOURCES = ("magazine", "activity", "fair", "referral", "sp", "property", "merchant")
APP_SOURCE_WEIGHTS = (0.12, 0.2, 0.15, 0.25, 0.05, 0.15, 0.08)
CARE_CHANNELS = ("sms", "email", "letter", "magazine", "website", "other")
PREF_WEIGHTS = (0.55, 0.25, 0.10, 0.04, 0.06, 0.0)
CARE_TYPES = ("sure_thing", "persuadable", "lost_cause")
EXIT_TYPES = ("normal", "contact_invalid", "expired", "data_error")
EXIT_WEIGHTS = (0.5, 0.25, 0.2, 0.05)
NOTICE_METHODS = ("sms", "email", "letter", "phone", "other")
REPLACEMENT = ("", "upgrade", "lost", "request")  # why main card 1 ended (0: it did not)

# -- the behaviour model (documented in demodata.truth) ---------------------------------------
LEGACY_SHARE = 0.2  # members approved before the history starts
LEGACY_YEARS = 6
INCOMPLETE_SHARE_OF_LEGACY = 0.015
VIP_THRESHOLD = 1.15  # of a standard normal score: ~12.5% VIP
CHANNEL_FACTOR = 0.6  # response multiplier when a care does not use the preferred channel


class Regions:
    """Region codes, shares and the real county codes of each province, as arrays."""

    def __init__(self) -> None:
        self.codes = list(vocab.REGIONS)
        self.labels = [vocab.REGIONS[c][0] for c in self.codes]
        self.shares = np.array([vocab.REGIONS[c][1] for c in self.codes])
        self.area_codes = [vocab.REGIONS[c][2] for c in self.codes]
        counties = [
            (i, *county) for i, c in enumerate(self.codes) for county in vocab.REGIONS[c][3]
        ]
        self.county_region = np.array([c[0] for c in counties], dtype=np.int16)
        self.county_codes = np.array([c[1] for c in counties])
        self.county_cities = np.array([c[2] for c in counties])
        self.county_districts = np.array([c[3] for c in counties])
        sizes = np.bincount(self.county_region, minlength=len(self.codes))
        self.county_first = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.county_count = sizes.astype(np.int64)
        # The province prefix of an address ("" for the four municipalities).
        self.address_prefix = np.array(
            ["" if label.endswith("市") else label for label in self.labels]
        )

    def index(self, code: str) -> int:
        return self.codes.index(code)


REGIONS = Regions()


class NameVocab:
    """Surname and given-name characters, with homophone links for look-alike duplicates."""

    def __init__(self) -> None:
        surnames = [s for s, _ in vocab.SURNAMES]
        extra = [v for v in vocab.SURNAME_HOMOPHONES.values() if v not in surnames]
        self.surnames = np.array(surnames + sorted(set(extra), key=extra.index))
        self.surname_weights = np.array([w for _, w in vocab.SURNAMES])
        index = {s: i for i, s in enumerate(self.surnames)}
        self.surname_homophone = np.array(
            [index.get(vocab.SURNAME_HOMOPHONES.get(s, ""), -1) for s in self.surnames]
        )
        chars = list(dict.fromkeys(vocab.MALE_CHARS + vocab.FEMALE_CHARS))
        chars += [c for c in dict.fromkeys(vocab.GIVEN_HOMOPHONES.values()) if c not in chars]
        self.chars = np.array(chars)
        cindex = {c: i for i, c in enumerate(chars)}
        self.male_pool = np.array([cindex[c] for c in dict.fromkeys(vocab.MALE_CHARS)])
        self.female_pool = np.array([cindex[c] for c in dict.fromkeys(vocab.FEMALE_CHARS)])
        self.char_homophone = np.array(
            [cindex.get(vocab.GIVEN_HOMOPHONES.get(c, ""), -1) for c in chars]
        )
        # Pinyin keys (operational.names.name_key), once per surname and character.
        self.surname_keys = np.array([name_key(s) for s in self.surnames])
        self.char_keys = np.array([" " + char_key(c) for c in chars])


NAMES = NameVocab()


def draw_names(rng: np.random.Generator, male: np.ndarray) -> tuple[np.ndarray, ...]:
    """(surname, first given char, second given char or -1) indices for each person."""
    n = len(male)
    surname = weighted_choice(rng, NAMES.surname_weights, n).astype(np.int16)
    pick_m = NAMES.male_pool[rng.integers(0, len(NAMES.male_pool), size=(2, n))]
    pick_f = NAMES.female_pool[rng.integers(0, len(NAMES.female_pool), size=(2, n))]
    given = np.where(male, pick_m, pick_f).astype(np.int16)
    one_char = rng.random(n) < 0.3
    g2 = np.where(one_char, -1, given[1]).astype(np.int16)
    return surname, given[0], g2


def name_strings(surname: np.ndarray, g1: np.ndarray, g2: np.ndarray) -> np.ndarray:
    second = np.where(g2 >= 0, NAMES.chars[np.maximum(g2, 0)], "")
    return np.strings.add(np.strings.add(NAMES.surnames[surname], NAMES.chars[g1]), second)


def name_keys(surname: np.ndarray, g1: np.ndarray, g2: np.ndarray) -> np.ndarray:
    """``operational.names.name_key`` of :func:`name_strings`, from per-character keys."""
    second = np.where(g2 >= 0, NAMES.char_keys[np.maximum(g2, 0)], "")
    return np.strings.add(np.strings.add(NAMES.surname_keys[surname], NAMES.char_keys[g1]), second)


def id_check_characters(first17: np.ndarray) -> np.ndarray:
    """Vectorised ISO 7064 MOD 11-2 check characters of 17-digit strings."""
    text = np.ascontiguousarray(first17, dtype="<U17")
    digits = text.view(np.uint32).reshape(-1, 17).astype(np.int64) - ord("0")
    total = digits @ np.array(WEIGHTS, dtype=np.int64)
    return np.array(list(CHECK_CHARACTERS))[total % 11]


def draw_mobiles(rng: np.random.Generator, n: int) -> np.ndarray:
    prefixes = np.array([int(p) for p, _ in vocab.MOBILE_PREFIXES], dtype=np.int64)
    which = weighted_choice(rng, [w for _, w in vocab.MOBILE_PREFIXES], n)
    return prefixes[which] * 100_000_000 + rng.integers(0, 100_000_000, size=n)


def _unique_id_sequences(rng, county, birth_day, male) -> np.ndarray:
    """3-digit sequence codes (odd for men) that make every ID number unique."""
    n = len(county)
    seq = (2 * rng.integers(0, 500, size=n) + male).astype(np.int64)
    for _ in range(100):
        key = (county.astype(np.int64) * 100_000 + (birth_day + 40_000)) * 1000 + seq
        order = np.argsort(key, kind="stable")
        dup = np.zeros(n, dtype=bool)
        dup[order[1:]] = key[order[1:]] == key[order[:-1]]
        if not dup.any():
            return seq
        seq[dup] = 2 * rng.integers(0, 500, size=int(dup.sum())) + male[dup]
    raise RuntimeError("could not make the ID numbers unique")


def simulate_members(seed: int, n: int, tl: Timeline) -> dict[str, np.ndarray]:
    """Identity, contact data and latent traits of ``n`` members (index = member_id - 1)."""
    rng = stream(seed, "members")
    m: dict[str, np.ndarray] = {}

    # When they joined: a fifth before the history (legacy), the rest growing over time.
    legacy = rng.random(n) < LEGACY_SHARE
    x = np.where(rng.random(n) < 0.6, rng.random(n), np.sqrt(rng.random(n)))
    new_day = tl.start_day + np.minimum((x * tl.n_days).astype(np.int64), tl.n_days - 1)
    old_day = tl.start_day - 1 - (rng.random(n) * LEGACY_YEARS * 365).astype(np.int64)
    day = np.where(legacy, old_day, new_day)
    join_ts = np.sort(local_ts(day, rng.integers(9 * 3600 + 1800, 17 * 3600 + 1800, size=n)))
    m["join_ts"] = join_ts
    m["join_day"] = local_day(join_ts)
    m["legacy"] = join_ts < tl.start_ts
    m["incomplete"] = m["legacy"] & (rng.random(n) < INCOMPLETE_SHARE_OF_LEGACY)
    m["submit_ts"] = join_ts - (rng.uniform(0.05, 10.0, size=n) * DAY).astype(np.int64)

    # Region and the county of the ID number; gender; age 20-75 at the end, adult at joining.
    region = weighted_choice(rng, REGIONS.shares, n)
    m["region"] = region.astype(np.int8)
    m["county"] = (
        REGIONS.county_first[region]
        + (rng.random(n) * REGIONS.county_count[region]).astype(np.int64)
    ).astype(np.int16)
    male = rng.random(n) < 0.52
    m["male"] = male
    years_in = (tl.end_day - m["join_day"]) / 365.25
    age = np.clip(rng.normal(45, 11, size=n), np.maximum(22.0, 20.0 + years_in + 0.05), 75.0)
    m["birth_day"] = tl.end_day - (age * 365.25).astype(np.int64)
    m["id_seq"] = _unique_id_sequences(rng, m["county"], m["birth_day"], male.astype(np.int64))

    surname, g1, g2 = draw_names(rng, male)
    m["surname"], m["g1"], m["g2"] = surname, g1, g2

    # Contact data.
    m["mobile"] = draw_mobiles(rng, n)
    m["home_phone"] = np.where(
        rng.random(n) < 0.35, rng.integers(20_000_000, 89_999_999, size=n), -1
    )
    email_style = np.where(rng.random(n) < 0.55, (rng.random(n) < 0.45).astype(np.int8), -1)
    m["email_style"] = email_style.astype(np.int8)  # -1 none, 0 QQ number, 1 pinyin
    m["email_qq"] = rng.integers(100_000, 3_999_999_999, size=n)
    m["email_syl"] = rng.integers(0, len(vocab.PINYIN), size=(2, n)).astype(np.int16)
    m["email_num"] = np.where(rng.random(n) < 0.6, rng.integers(1, 2000, size=n), -1)
    m["email_domain"] = weighted_choice(rng, [w for _, w in vocab.EMAIL_DOMAINS], n).astype(np.int8)
    m["has_address"] = rng.random(n) < 0.92
    m["addr"] = _draw_address(rng, n)
    m["industry"] = np.where(
        rng.random(n) < 0.7, weighted_choice(rng, [w for _, w in vocab.INDUSTRIES], n), -1
    ).astype(np.int8)

    channel = weighted_choice(rng, APP_CHANNEL_WEIGHTS, n)
    m["channel"] = channel.astype(np.int8)
    m["source"] = np.where(channel == 1, weighted_choice(rng, APP_SOURCE_WEIGHTS, n), -1).astype(
        np.int8
    )
    # The application lacked some optional fields, supplied later (a member change).
    m["app_no_email"] = rng.random(n) < 0.08
    m["app_no_home"] = rng.random(n) < 0.08
    m["app_no_address"] = rng.random(n) < 0.08

    _draw_traits(rng, m, n)
    return m


def _draw_address(rng: np.random.Generator, n: int) -> np.ndarray:
    """Street, number, community, building, unit, floor, room (int32 columns)."""
    return np.stack(
        [
            rng.integers(0, len(vocab.STREETS), size=n),
            rng.integers(1, 999, size=n),
            rng.integers(0, len(vocab.COMMUNITIES), size=n),
            rng.integers(1, 31, size=n),
            rng.integers(1, 7, size=n),
            rng.integers(1, 34, size=n),
            rng.integers(1, 5, size=n),
        ]
    ).astype(np.int32)


def _draw_traits(rng: np.random.Generator, m: dict[str, np.ndarray], n: int) -> None:
    """The latent behaviour of each member (kept in the truth file, never in the DB)."""
    e = rng.beta(2.0, 3.0, size=n)
    m["engagement"] = e
    score = 0.8 * rng.standard_normal(n) + 0.6 * (e - 0.4) / 0.2
    vip = score > VIP_THRESHOLD
    m["vip"] = vip
    # Purchases per year while active; churn hazard per year; swipe visits per year;
    # activity attendance per year (the target; the effective rate is set with the schedule).
    lam = np.exp(rng.normal(np.log(0.45), 0.7, size=n)) * (0.4 + 1.5 * e) * np.where(vip, 1.8, 1.0)
    m["lam_y"] = np.clip(lam, 0.02, 6.0)
    hazard = 0.30 * np.exp(-2.2 * (e - 0.4) + rng.normal(0.0, 0.35, size=n))
    m["hazard_y"] = np.clip(hazard * np.where(vip, 0.7, 1.0), 0.03, 2.0)
    m["visit_y"] = np.clip(21.6 * e**1.5 * np.exp(rng.normal(0.0, 0.4, size=n)), 0.05, 60.0)
    m["alpha_target_y"] = np.clip(6.0 * e**1.5 * np.exp(rng.normal(0.0, 0.3, size=n)), 0.02, 8.0)
    lifetime_days = rng.exponential(1.0, size=n) / m["hazard_y"] * 365.25
    m["churn_ts"] = m["join_ts"] + np.minimum(lifetime_days * DAY, 200 * 365 * DAY).astype(np.int64)
    # Care: sure things respond anyway, persuadables only when cared for, lost causes rarely.
    u = rng.random(n)
    sure = u < 0.08 + 0.35 * e
    persuadable = ~sure & (u < 0.38 + 0.35 * e)
    m["care_type"] = np.where(sure, 0, np.where(persuadable, 1, 2)).astype(np.int8)
    m["p_treat"] = np.where(sure, 0.55 + 0.3 * e, np.where(persuadable, 0.45 + 0.3 * e, 0.03))
    m["p_ctrl"] = np.where(sure, 0.55 + 0.3 * e, np.where(persuadable, 0.05, 0.03))
    pref = weighted_choice(rng, PREF_WEIGHTS, n)
    pref = np.where((pref == 1) & (m["email_style"] < 0), 0, pref)  # no e-mail: SMS
    m["pref_channel"] = pref.astype(np.int8)
    m["redeem_p"] = 0.05 + 0.35 * e
    m["complaint_y"] = np.clip(0.05 * (m["hazard_y"] / 0.3) ** 0.7, 0.005, 0.5)


def simulate_lifecycle(seed: int, m: dict[str, np.ndarray], tl: Timeline) -> None:
    """Cards, tier upgrades, profile edits, consents, exits: adds columns to ``m``."""
    rng = stream(seed, "lifecycle")
    n = len(m["join_ts"])
    end_ts = tl.end_ts
    join_ts = m["join_ts"]
    alive_end = np.minimum(m["churn_ts"], end_ts)

    # Exits: some latently churned members are found out (by hand or by rule) and archived.
    candidate = (m["churn_ts"] < end_ts - 180 * DAY) & (rng.random(n) < 0.12)
    exit_ts = m["churn_ts"] + (rng.uniform(150, 500, size=n) * DAY).astype(np.int64)
    exit_ts = (exit_ts // 60) * 60
    has_exit = candidate & (exit_ts < end_ts)
    exit_type = weighted_choice(rng, EXIT_WEIGHTS, n).astype(np.int8)
    review_ts = exit_ts + (rng.uniform(1, 10, size=n) * DAY).astype(np.int64)
    # Requests of the last two months mostly still wait for review.
    waiting = (exit_ts >= end_ts - 60 * DAY) & (rng.random(n) < 0.7)
    pending = has_exit & ((review_ts >= end_ts) | waiting)
    rejected = has_exit & ~pending & (rng.random(n) < 0.1)
    approved = has_exit & ~pending & ~rejected
    m["exit_ts"] = np.where(has_exit, exit_ts, NA)
    m["exit_type"] = exit_type
    m["exit_auto"] = np.isin(exit_type, (1, 2))
    m["exit_status"] = np.select([pending, approved, rejected], [1, 2, 3], 0).astype(np.int8)
    m["exit_review_ts"] = np.where(approved | rejected, review_ts, NA)
    m["archived_ts"] = np.where(approved, review_ts, NA)
    gone_ts = np.where(approved, review_ts, end_ts)  # cards and cares stop here

    # Main card 1 at approval (or a batch a few days later); at most one replacement.
    batch_day = local_day(join_ts) + rng.integers(1, 21, size=n)
    batch_ts = local_ts(batch_day, 10 * 3600)
    late = (rng.random(n) < 0.15) & (batch_ts < end_ts)
    m["card1_ts"] = np.where(late, batch_ts, join_ts + 120)
    window_lo = m["card1_ts"] + 30 * DAY
    window_hi = np.minimum(alive_end, gone_ts)
    can_change = window_hi > window_lo
    when = window_lo + (rng.random(n) * np.maximum(window_hi - window_lo, 0)).astype(np.int64)
    when = local_ts(local_day(when), rng.integers(9 * 3600, 18 * 3600, size=n))
    when = np.clip(when, window_lo, np.maximum(window_hi - 1, window_lo))
    upgraded = m["vip"] & can_change & (rng.random(n) < 0.4)
    u = rng.random(n)
    lost = ~upgraded & can_change & (u < 0.025)
    request = ~upgraded & can_change & ~lost & (u < 0.035)
    kind = np.select([upgraded, lost, request], [1, 2, 3], 0).astype(np.int8)
    m["repl_kind"] = kind
    m["repl_ts"] = np.where(kind > 0, when, NA)
    m["card1_vip"] = m["vip"] & ~upgraded

    # Sub-cards (discount or co-branded) under the main card valid at their issue.
    sub_ts = m["card1_ts"] + (rng.uniform(10, 400, size=n) * DAY).astype(np.int64)
    sub_ts = local_ts(local_day(sub_ts), 11 * 3600)
    m["has_sub"] = (rng.random(n) < 0.13) & (sub_ts < np.minimum(gone_ts, end_ts))
    m["sub_ts"] = sub_ts
    m["sub_type"] = (rng.random(n) < 0.4).astype(np.int8)  # 0 discount, 1 co-branded
    m["sub_years"] = np.where(rng.random(n) < 0.6, 1, 2).astype(np.int8)

    # Profile edits: a new mobile or address, later-supplied optional fields.
    edit_span = np.maximum(np.minimum(gone_ts, end_ts) - join_ts - DAY, 0)

    def edit_time() -> np.ndarray:  # incomplete legacy records are never edited
        t = join_ts + DAY + (rng.random(n) * edit_span).astype(np.int64)
        return np.where((edit_span > 0) & ~m["incomplete"], t, NA)

    m["mobile_change_ts"] = np.where(rng.random(n) < 0.04, edit_time(), NA)
    m["old_mobile"] = draw_mobiles(rng, n)
    m["address_change_ts"] = np.where(m["has_address"] & (rng.random(n) < 0.03), edit_time(), NA)
    m["old_addr"] = _draw_address(rng, n)
    m["email_added_ts"] = np.where(m["app_no_email"] & (m["email_style"] >= 0), edit_time(), NA)
    m["home_added_ts"] = np.where(m["app_no_home"] & (m["home_phone"] >= 0), edit_time(), NA)
    m["address_added_ts"] = np.where(m["app_no_address"] & m["has_address"], edit_time(), NA)

    # The approval notice: reached or listed for the next try.
    method = np.where(m["pref_channel"] == 1, 1, weighted_choice(rng, (0.8, 0, 0.1, 0.08, 0.02), n))
    m["notice_method"] = method.astype(np.int8)
    m["notified"] = rng.random(n) < 0.95
    m["notice_ts"] = join_ts + rng.integers(300, 2 * DAY, size=n)

    # Consents at approval (SMS, e-mail, letter, phone); a few withdrawn later.
    m["consent"] = np.stack(
        [
            rng.random(n) < 0.9,
            (m["email_style"] >= 0) & (rng.random(n) < 0.75),
            rng.random(n) < 0.3,
            rng.random(n) < 0.5,
        ]
    )
    m["consent_withdrawn_ts"] = np.where(m["consent"][0] & (rng.random(n) < 0.03), edit_time(), NA)
    m["contact_failed"] = rng.random(n) < 0.04  # a wrong number: SMS/e-mail sends fail


DUPLICATE_SHARE = 0.04
DUPLICATE_KINDS = ("mobile_digit", "mobile_swap", "homophone_name")


def simulate_duplicates(seed: int, m: dict[str, np.ndarray], tl: Timeline) -> dict[str, np.ndarray]:
    """Look-alike applications of existing members: the same person applying again.

    Each carries one or two slips (a digit off in the mobile, two digits swapped, a homophone in
    the name), has no ID number or one with a typo (so no exact match finds it), and often
    lacks optional fields. Recent ones wait in the review queue (pending); older ones were
    merged into their member by a reviewer.
    """
    rng = stream(seed, "duplicates")
    n = len(m["join_ts"])
    end_ts = tl.end_ts
    ok = ~m["incomplete"] & (m["join_ts"] < end_ts - 30 * DAY) & (rng.random(n) < DUPLICATE_SHARE)
    member = np.flatnonzero(ok)
    k = len(member)
    recent_lo = np.maximum(m["join_ts"][member] + 7 * DAY, end_ts - 75 * DAY)
    old_lo = m["join_ts"][member] + 7 * DAY
    old_hi = end_ts - 75 * DAY
    merged = (rng.random(k) < 0.4) & (old_hi > old_lo)
    lo = np.where(merged, old_lo, recent_lo)
    hi = np.where(merged, old_hi, end_ts - 3600)
    ts = lo + (rng.random(k) * np.maximum(hi - lo, 0)).astype(np.int64)
    ts = np.minimum(local_ts(local_day(ts), rng.integers(8 * 3600, 22 * 3600, size=k)), end_ts - 60)
    kind = weighted_choice(rng, (0.4, 0.3, 0.3), k)
    second = rng.random(k) < 0.3
    name_change = (kind == 2) | (second & (kind != 2))
    mobile_kind = np.where(kind == 2, np.where(second, 1, 0), kind + 1)
    surname = m["surname"][member]
    last = np.where(m["g2"][member] >= 0, m["g2"][member], m["g1"][member])
    can_given = NAMES.char_homophone[last] >= 0
    can_surname = NAMES.surname_homophone[surname] >= 0
    name_swap = name_change & can_given & ((rng.random(k) < 0.7) | ~can_surname)
    surname_swap = name_change & ~name_swap & can_surname
    # A name that could not be changed gets a mobile slip instead.
    mobile_kind = np.where(
        name_change & ~name_swap & ~surname_swap & (mobile_kind == 0), 1, mobile_kind
    )
    pos = rng.integers(3, 10, size=k)  # not the 3-digit network prefix
    mobile = m["mobile"][member]
    same = ((mobile // 10 ** (10 - pos)) % 10) == ((mobile // 10 ** (9 - pos)) % 10)
    mobile_kind = np.where((mobile_kind == 2) & same, 1, mobile_kind)  # swapping equal digits
    kinds = np.where(
        mobile_kind == 1, "mobile_digit", np.where(mobile_kind == 2, "mobile_swap", "")
    )
    named = np.where(name_swap | surname_swap, "homophone_name", "")
    label = np.strings.add(
        np.strings.add(kinds, np.where((kinds != "") & (named != ""), "+", "")), named
    )
    return {
        "member": member,
        "status": merged.astype(np.int8),  # 0 pending, 1 merged
        "ts": ts,
        "decided_ts": np.where(merged, ts + (rng.uniform(1, 7, size=k) * DAY).astype(np.int64), NA),
        "channel": np.array([2, 0, 1])[weighted_choice(rng, (0.5, 0.25, 0.25), k)].astype(np.int8),
        "name_swap": name_swap,
        "surname_swap": surname_swap,
        "mobile_kind": mobile_kind.astype(np.int8),
        "pos": pos,
        "delta": rng.integers(1, 10, size=k),
        "id_typo": rng.random(k) < 0.35,
        "id_pos": rng.integers(6, 17, size=k),
        "id_delta": rng.integers(1, 10, size=k),
        "no_home": rng.random(k) < 0.6,
        "no_email": rng.random(k) < 0.5,
        "no_address": rng.random(k) < 0.4,
        "kinds": label,
    }
