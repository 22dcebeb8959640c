"""Rows of every operational table, built from the simulated world one member chunk at a time.

A table is returned as ``(name, columns)``: column name -> values, where values are a numpy
array, a list, a scalar (same for every row) or a tagged tuple the loader formats:
``("ts", epoch_seconds)``, ``("day", day_numbers)``, ``("int", ints)`` with ``NA`` for NULL, and
``("str", strings, null_mask)``. Only formatting happens here: all randomness was drawn before,
so the data do not depend on the chunk size.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from demodata import vocab
from demodata.behaviour import (
    ACTIVITY_NAMES,
    ACTIVITY_TYPES,
    COMPLAINT_CHANNELS,
    COMPLAINT_TYPES,
    PAYMENT_METHODS,
    SALES_CHANNELS,
    TRIGGERS,
    VENUES,
    Arrays,
)
from demodata.ledger import EVENT_TYPES, POSTED, E
from demodata.people import (
    APP_CHANNELS,
    APP_SOURCES,
    CARE_CHANNELS,
    EXIT_TYPES,
    NAMES,
    NOTICE_METHODS,
    REGIONS,
    id_check_characters,
    name_keys,
    name_strings,
)
from demodata.reference import DEPARTMENTS, Merchants, Plans, Readers, Staff
from demodata.timebase import (
    DAY,
    NA,
    Timeline,
    compact_dates,
    concat,
    local_day,
    numbers,
    sql_dates,
    sql_timestamps,
)

Columns = dict[str, object]
Table = tuple[str, Columns]

CARD_STATUS = np.array(["active", "replaced", "lost", "cancelled", "expired"])
CARD_END_REASON = np.array(["", "upgrade", "lost", "request", "exit", "main_replaced", "expired"])
CONTACT_STATUS = np.array(["pending", "sent", "failed", "control"])
ACTIVITY_STATUS = np.array(["planned", "submitted", "approved", "rejected", "running", "closed"])
ATTENDANCE_SOURCE = np.array(["list", "single", "reader"])
IMPORTANCE = np.array(["low", "normal", "high", "urgent"])
COMPLAINT_STATUS = np.array(["pending", "in_progress", "done"])
ENTRY_STATUS = np.array(["posted", "pending", "rejected"])
TYPE_DEPARTMENT = np.array([0, 1, 2, 3])  # complaint type -> handling department
ENTRY_REASON = np.array(
    [
        "购买全款到账积分",
        "活动签到积分",
        "生日关怀赠送积分",
        "投诉处理补偿积分",
        "积分兑换",
        "会员服务中心刷卡积分",
        "手工补录积分",
        "积分过期清零（次年年底）",
        "冲正",
        "历史系统积分迁移",
    ]
)
COMPLAINT_TEXT = {
    0: (
        "销售顾问承诺的优惠未兑现",
        "签约流程拖延，多次催促无果",
        "销售人员服务态度差",
        "合同条款解释不清",
    ),
    1: (
        "卫生间渗水，楼下天花板发霉",
        "外墙瓷砖空鼓脱落",
        "地暖不热，多次报修未解决",
        "窗户密封不严，雨天漏水",
    ),
    2: (
        "小区电梯频繁故障",
        "物业费上涨未提前公示",
        "车库照明损坏无人维修",
        "垃圾清运不及时，异味严重",
    ),
    3: ("会员积分未到账", "兑换礼品迟迟未发货", "活动报名后被告知名额已满", "会刊投递地址错误"),
}
STEP_OPINION = (
    "已受理，电话联系会员了解详细情况",
    "已安排相关部门现场核查",
    "已制定处理方案并与会员沟通确认",
    "处理完毕，会员确认问题已解决",
)
CARE_TITLE = {0: "会员季度关怀", 1: "会员生日关怀", 2: "购买答谢关怀", 3: "活动答谢"}
CAMPAIGNS = ("会刊季度推送", "会员日专属礼遇", "业主秋季关怀", "新春问候", "夏日社区活动预告")
RESPONSES = np.array(["短信回复", "邮件回复", "来电致谢", "来电咨询", "网站留言", "到访"])


@dataclass
class World:
    """Everything simulated, plus lookups shared by the table builders."""

    tl: Timeline
    m: Arrays
    cards: Arrays
    purchases: Arrays
    payments: Arrays
    activities: Arrays
    attendance: Arrays
    visits: Arrays
    uses: Arrays
    swipes: Arrays
    cares: Arrays
    contacts: Arrays
    complaints: Arrays
    steps: Arrays
    entries: Arrays
    redemptions: Arrays
    balances: Arrays
    duplicates: Arrays
    staff: Staff
    merchants: Merchants
    readers: Readers
    plans: Plans
    derived: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.m["join_ts"])

    def prepare(self) -> None:
        """Global numbering that every chunk needs (application ids, row offsets)."""
        m = self.m
        has_app = ~m["incomplete"]
        self.derived["app_id"] = np.where(has_app, np.cumsum(has_app), NA)
        self.derived["n_apps"] = np.array(int(has_app.sum()))
        auto = np.flatnonzero(self.purchases["auto"])
        auto_id = np.full(self.n, NA)
        auto_id[self.purchases["member"][auto]] = auto + 1
        self.derived["auto_purchase_id"] = auto_id
        archived = m["archived_ts"] != NA
        self.derived["exit_notice_id"] = np.where(
            archived, self.derived["n_apps"] + np.cumsum(archived), NA
        )
        exits = m["exit_ts"] != NA
        self.derived["exit_id"] = np.where(exits, np.cumsum(exits), NA)
        self.derived["consent_rows"] = m["consent"].sum(axis=0) + (m["consent_withdrawn_ts"] != NA)
        self.derived["change_rows"] = _change_counts(m)
        self.derived["activity_code"] = concat(
            "ACT", numbers(np.arange(1, len(self.activities["day"]) + 1), 6)
        )
        merged = self.duplicates["status"] == 1
        self.derived["merged_decision_id"] = np.where(
            merged, self.derived["n_apps"] + np.cumsum(merged), NA
        )

    def swipe_ids(self, reader: np.ndarray, seq: np.ndarray) -> np.ndarray:
        rid = np.array(self.readers.reader_id)[reader]
        return concat(rid, "-", numbers(seq, 12))


def _lookup(labels, index: np.ndarray, null: np.ndarray | None = None) -> tuple:
    """Labels by index, NULL where the index is negative (or ``null`` says so)."""
    index = np.asarray(index)
    missing = index < 0 if null is None else (index < 0) | null
    return ("str", np.asarray(labels)[np.maximum(index, 0)], missing)


def _offsets(counts: np.ndarray) -> np.ndarray:
    return np.cumsum(counts) - counts


def _change_counts(m: Arrays) -> np.ndarray:
    count = sum(
        (m[k] != NA).astype(np.int64)
        for k in (
            "mobile_change_ts",
            "address_change_ts",
            "email_added_ts",
            "home_added_ts",
            "address_added_ts",
        )
    )
    count = count + (m["repl_kind"] == 1)
    return count + np.select([m["exit_status"] == 1, m["exit_status"] >= 2], [1, 2], 0)


def _rows(member_col: np.ndarray, lo: int, hi: int) -> slice:
    a, b = np.searchsorted(member_col, [lo, hi])
    return slice(int(a), int(b))


# -- people strings ------------------------------------------------------------------------------
def member_no(index: np.ndarray) -> np.ndarray:
    return concat("M", numbers(index + 1, 8))


def id_numbers(m: Arrays, idx: np.ndarray) -> np.ndarray:
    first17 = concat(
        REGIONS.county_codes[m["county"][idx]],
        compact_dates(m["birth_day"][idx]),
        numbers(m["id_seq"][idx], 3),
    )
    return np.strings.add(first17, id_check_characters(first17))


def addresses(m: Arrays, idx: np.ndarray, addr: np.ndarray) -> np.ndarray:
    county = m["county"][idx]
    region = m["region"][idx]
    a = addr[:, idx]
    return concat(
        REGIONS.address_prefix[region],
        REGIONS.county_cities[county],
        REGIONS.county_districts[county],
        np.array(vocab.STREETS)[a[0]],
        numbers(a[1]),
        "号",
        np.array(vocab.COMMUNITIES)[a[2]],
        numbers(a[3]),
        "栋",
        numbers(a[4]),
        "单元",
        numbers(a[5]),
        numbers(a[6], 2),
        "室",
    )


def emails(m: Arrays, idx: np.ndarray) -> np.ndarray:
    style = m["email_style"][idx]
    domains = np.array([d for d, _ in vocab.EMAIL_DOMAINS])
    pinyin = np.array(vocab.PINYIN)
    syl = m["email_syl"][:, idx]
    num = m["email_num"][idx]
    local = concat(
        pinyin[syl[0]], pinyin[syl[1]], np.where(num >= 0, numbers(np.maximum(num, 0)), "")
    )
    qq = concat(numbers(m["email_qq"][idx]), "@qq.com")
    return np.where(style == 0, qq, concat(local, "@", domains[m["email_domain"][idx]]))


def home_phones(m: Arrays, idx: np.ndarray) -> np.ndarray:
    area = np.array(REGIONS.area_codes)[m["region"][idx]]
    return concat(area, "-", numbers(np.maximum(m["home_phone"][idx], 0)))


def mobile_digit_change(mobile: np.ndarray, pos: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """Change digit ``pos`` (0-based from the left of 11) by ``delta`` (mod 10)."""
    power = 10 ** (10 - pos)
    digit = (mobile // power) % 10
    return mobile + (((digit + delta) % 10) - digit) * power


def mobile_swap(mobile: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Swap digits ``pos`` and ``pos + 1``."""
    p1, p2 = 10 ** (10 - pos), 10 ** (9 - pos)
    d1, d2 = (mobile // p1) % 10, (mobile // p2) % 10
    return mobile + (d2 - d1) * p1 + (d1 - d2) * p2


# -- chunk tables --------------------------------------------------------------------------------
def chunk_tables(w: World, lo: int, hi: int) -> Iterator[Table]:
    """Every per-member table for members ``lo..hi-1``, parents before children."""
    builders = (
        members_table,
        applications_table,
        review_decisions_table,
        notifications_table,
        consents_table,
        changes_table,
        exits_table,
        cards_table,
        purchases_table,
        payments_table,
        entries_table,
        balances_table,
        redemptions_table,
        attendance_table,
        contacts_table,
        complaints_tables,
        uses_table,
    )
    for build in builders:  # one table at a time: only its Python rows are alive
        built = build(w, lo, hi)
        if isinstance(built[0], tuple):
            yield from built
        else:
            yield built


def members_table(w: World, lo: int, hi: int) -> Table:
    m = w.m
    idx = np.arange(lo, hi)
    inc = m["incomplete"][idx]
    archived = m["archived_ts"][idx]
    status = np.where(
        archived != NA, "archived", np.where(m["exit_status"][idx] == 1, "exit_pending", "active")
    )
    changes = [
        m[k][idx]
        for k in (
            "mobile_change_ts",
            "address_change_ts",
            "email_added_ts",
            "home_added_ts",
            "address_added_ts",
            "exit_ts",
            "exit_review_ts",
            "archived_ts",
        )
    ]
    changes.append(np.where(m["repl_kind"][idx] == 1, m["repl_ts"][idx], NA))
    updated = np.maximum.reduce([m["join_ts"][idx], *changes])
    has_home = (m["home_phone"][idx] >= 0) & ~inc
    has_email = (m["email_style"][idx] >= 0) & ~inc
    has_addr = m["has_address"][idx] & ~inc
    return "members", {
        "id": idx + 1,
        "member_no": member_no(idx),
        "name": name_strings(m["surname"][idx], m["g1"][idx], m["g2"][idx]),
        "name_key": name_keys(m["surname"][idx], m["g1"][idx], m["g2"][idx]),
        "id_number": ("str", id_numbers(m, idx), inc),
        "gender": ("str", np.where(m["male"][idx], "M", "F"), inc),
        "birthday": ("day", np.where(inc, NA, m["birth_day"][idx])),
        "mobile": numbers(m["mobile"][idx]),
        "home_phone": ("str", home_phones(m, idx), ~has_home),
        "email": ("str", emails(m, idx), ~has_email),
        "address": ("str", addresses(m, idx, m["addr"]), ~has_addr),
        "region": np.array(REGIONS.codes)[m["region"][idx]],
        "industry": _lookup([x for x, _ in vocab.INDUSTRIES], m["industry"][idx], inc),
        "tier": np.where(m["vip"][idx], "vip", "ordinary"),
        "status": status,
        "channel": ("str", np.array(APP_CHANNELS)[m["channel"][idx]], inc),
        "source": _lookup(APP_SOURCES, m["source"][idx], inc),
        "joined_at": ("day", m["join_day"][idx]),
        "application_id": ("int", w.derived["app_id"][idx]),
        "is_incomplete": inc.astype(np.int64),
        "notified": (m["notified"][idx] & ~inc).astype(np.int64),
        "exit_type": ("str", np.array(EXIT_TYPES)[m["exit_type"][idx]], archived == NA),
        "archived_at": ("ts", archived),
        "created_at": ("ts", m["join_ts"][idx]),
        "updated_at": ("ts", updated),
        "version": 1,
    }


def applications_table(w: World, lo: int, hi: int) -> Table:
    m = w.m
    idx = np.arange(lo, hi)
    idx = idx[~m["incomplete"][idx]]
    name = name_strings(m["surname"][idx], m["g1"][idx], m["g2"][idx])
    mobile = np.where(m["mobile_change_ts"][idx] != NA, m["old_mobile"][idx], m["mobile"][idx])
    old_addr = m["address_change_ts"][idx] != NA
    address = np.where(old_addr, addresses(m, idx, m["old_addr"]), addresses(m, idx, m["addr"]))
    channel = m["channel"][idx]
    staff = w.staff
    submitted_by = np.where(
        channel == 2, "website", np.where(channel == 3, "system", staff.service_users[idx % 8])
    )
    own = {
        "id": w.derived["app_id"][idx],
        "channel": np.array(APP_CHANNELS)[channel],
        "source": _lookup(APP_SOURCES, m["source"][idx]),
        "is_automatic": (channel == 3).astype(np.int64),
        "name": name,
        "name_key": name_keys(m["surname"][idx], m["g1"][idx], m["g2"][idx]),
        "id_number": id_numbers(m, idx),
        "gender": np.where(m["male"][idx], "M", "F"),
        "birthday": ("day", m["birth_day"][idx]),
        "mobile": numbers(mobile),
        "home_phone": (
            "str",
            home_phones(m, idx),
            (m["home_phone"][idx] < 0) | m["app_no_home"][idx],
        ),
        "email": ("str", emails(m, idx), (m["email_style"][idx] < 0) | m["app_no_email"][idx]),
        "address": ("str", address, ~m["has_address"][idx] | m["app_no_address"][idx]),
        "region": np.array(REGIONS.codes)[m["region"][idx]],
        "requested_tier": np.where(m["card1_vip"][idx], "vip", "ordinary"),
        "status": "approved",
        "submitted_at": ("ts", m["submit_ts"][idx]),
        "submitted_by": submitted_by,
        "purchase_id": ("int", w.derived["auto_purchase_id"][idx]),
        "member_id": idx + 1,
        "decided_at": ("ts", m["join_ts"][idx]),
        "decided_by": staff.reviewers[idx % len(staff.reviewers)],
        "notes": None,
        "version": 1,
    }
    return "applications", _merge(own, _duplicate_applications(w, lo, hi))


def _duplicate_applications(w: World, lo: int, hi: int) -> Columns:
    """Look-alike applications of existing members (typos, homophones), pending or merged."""
    d, m = w.duplicates, w.m
    rows = _rows(d["member"], lo, hi)
    idx = d["member"][rows]
    k = len(idx)
    surname = np.where(
        d["surname_swap"][rows], NAMES.surname_homophone[m["surname"][idx]], m["surname"][idx]
    )
    g1, g2 = m["g1"][idx], m["g2"][idx]
    last_is_g2 = g2 >= 0
    last = np.where(last_is_g2, g2, g1)
    new_last = np.where(d["name_swap"][rows], NAMES.char_homophone[last], last)
    new_last = np.where(new_last >= 0, new_last, last)
    g1 = np.where(last_is_g2, g1, new_last)
    g2 = np.where(last_is_g2, new_last, g2)
    surname = np.where(surname >= 0, surname, m["surname"][idx])
    mobile = m["mobile"][idx]
    mobile = np.where(
        d["mobile_kind"][rows] == 1,
        mobile_digit_change(mobile, d["pos"][rows], d["delta"][rows]),
        mobile,
    )
    mobile = np.where(d["mobile_kind"][rows] == 2, mobile_swap(mobile, d["pos"][rows]), mobile)
    typo = np.ascontiguousarray(id_numbers(m, idx), dtype="<U18")
    chars = typo.view(np.uint32).reshape(-1, 18)
    at = (np.arange(k), d["id_pos"][rows])
    chars[at] = (chars[at] - ord("0") + d["id_delta"][rows]) % 10 + ord("0")
    status = d["status"][rows]
    merged = status == 1
    return {
        "id": w.derived["n_apps"] + 1 + np.arange(rows.start, rows.stop),
        "channel": np.array(APP_CHANNELS)[d["channel"][rows]],
        "source": ("str", np.full(k, "referral"), d["channel"][rows] != 1),
        "is_automatic": np.zeros(k, np.int64),
        "name": name_strings(surname, g1, g2),
        "name_key": name_keys(surname, g1, g2),
        "id_number": ("str", typo, ~d["id_typo"][rows]),
        "gender": np.where(m["male"][idx], "M", "F"),
        "birthday": ("day", m["birth_day"][idx]),
        "mobile": numbers(mobile),
        "home_phone": ("str", home_phones(m, idx), (m["home_phone"][idx] < 0) | d["no_home"][rows]),
        "email": ("str", emails(m, idx), (m["email_style"][idx] < 0) | d["no_email"][rows]),
        "address": (
            "str",
            addresses(m, idx, m["addr"]),
            ~m["has_address"][idx] | d["no_address"][rows],
        ),
        "region": np.array(REGIONS.codes)[m["region"][idx]],
        "requested_tier": np.full(k, "ordinary"),
        "status": np.where(merged, "merged", "pending"),
        "submitted_at": ("ts", d["ts"][rows]),
        "submitted_by": np.where(
            d["channel"][rows] == 2, "website", w.staff.service_users[idx % 8]
        ),
        "purchase_id": ("int", np.full(k, NA)),
        "member_id": ("int", np.where(merged, idx + 1, NA)),
        "decided_at": ("ts", np.where(merged, d["decided_ts"][rows], NA)),
        "decided_by": ("str", w.staff.reviewers[idx % len(w.staff.reviewers)], ~merged),
        "notes": ("str", np.full(k, "疑似重复申请"), ~merged),
        "version": 1,
    }


def _merge(a: Columns, b: Columns) -> Columns:
    """Concatenate two column sets of the same table (as Python lists)."""
    na, nb = column_length(a), column_length(b)
    return {key: to_pylist(a[key], na) + to_pylist(b[key], nb) for key in a}


def column_length(cols: Columns) -> int:
    for value in cols.values():
        if isinstance(value, tuple):
            return len(value[1])
        if isinstance(value, np.ndarray | list):
            return len(value)
    raise ValueError("cannot tell the number of rows from scalars only")


def _with_none(values: np.ndarray, null: np.ndarray) -> list:
    if not null.any():
        return values.tolist()
    out = values.astype(object)
    out[null] = None
    return out.tolist()


def to_pylist(value: object, n: int) -> list:
    """The Python values of one column (None for NULL), as the DB drivers want them."""
    if isinstance(value, tuple):
        tag, data = value[0], np.asarray(value[1])
        if tag == "str":
            return _with_none(data, np.asarray(value[2], dtype=bool))
        null = data == NA
        if tag == "ts":
            return _with_none(sql_timestamps(np.where(null, 0, data)), null)
        if tag == "day":
            return _with_none(sql_dates(np.where(null, 0, data)), null)
        if tag == "int":
            return _with_none(data, null)
        raise ValueError(f"unknown column tag {tag!r}")
    if isinstance(value, list):
        if len(value) != n:
            raise ValueError(f"column has {len(value)} values, expected {n}")
        return value
    if isinstance(value, np.ndarray):
        if len(value) != n:
            raise ValueError(f"column has {len(value)} values, expected {n}")
        if value.dtype.kind == "f":
            return _with_none(np.round(value, 2), np.isnan(value))
        if value.dtype.kind == "b":
            return value.astype(np.int64).tolist()
        return value.tolist()
    return [value] * n


def review_decisions_table(w: World, lo: int, hi: int) -> Table:
    m, d = w.m, w.duplicates
    idx = np.arange(lo, hi)
    idx = idx[~m["incomplete"][idx]]
    rows = _rows(d["member"], lo, hi)
    merged = np.flatnonzero(d["status"][rows] == 1) + rows.start
    didx = d["member"][merged]
    k1, k2 = len(idx), len(merged)
    reviewers = w.staff.reviewers
    return "review_decisions", {
        "id": np.concatenate([w.derived["app_id"][idx], w.derived["merged_decision_id"][merged]]),
        "application_id": np.concatenate(
            [w.derived["app_id"][idx], w.derived["n_apps"] + 1 + merged]
        ),
        "outcome": np.concatenate([np.full(k1, "approve"), np.full(k2, "merge_member")]),
        "member_id": np.concatenate([idx + 1, didx + 1]),
        "merged_application_ids": None,
        "decided_by": np.concatenate(
            [reviewers[idx % len(reviewers)], reviewers[didx % len(reviewers)]]
        ),
        "decided_at": ("ts", np.concatenate([m["join_ts"][idx], d["decided_ts"][merged]])),
        "comment": (
            "str",
            np.concatenate(
                [np.full(k1, ""), concat("与会员", member_no(didx), "为同一人，合并资料")]
            ),
            np.concatenate([np.ones(k1, bool), np.zeros(k2, bool)]),
        ),
    }


def notifications_table(w: World, lo: int, hi: int) -> Table:
    m = w.m
    idx = np.arange(lo, hi)
    a = idx[~m["incomplete"][idx]]
    x = idx[m["archived_ts"][idx] != NA]
    method = np.array(NOTICE_METHODS)
    return "member_notifications", {
        "id": np.concatenate([w.derived["app_id"][a], w.derived["exit_notice_id"][x]]),
        "member_id": np.concatenate([a + 1, x + 1]),
        "kind": np.concatenate([np.full(len(a), "approval"), np.full(len(x), "exit")]),
        "method": np.concatenate([method[m["notice_method"][a]], np.full(len(x), "letter")]),
        "status": np.concatenate(
            [np.where(m["notified"][a], "notified", "retry"), np.full(len(x), "notified")]
        ),
        "attempted_at": ("ts", np.concatenate([m["notice_ts"][a], m["archived_ts"][x] + 3600])),
        "attempts": np.concatenate(
            [np.where(m["notified"][a], 1, 2 + (a % 2)), np.ones(len(x), np.int64)]
        ),
    }


def consents_table(w: World, lo: int, hi: int) -> Table:
    m = w.m
    idx = np.arange(lo, hi)
    consent = m["consent"][:, idx]
    channels = np.array(["sms", "email", "letter", "phone"])
    ch, pos = np.nonzero(consent.T)  # rows by member, then channel
    member = idx[ch]
    wd = idx[m["consent_withdrawn_ts"][idx] != NA]
    mem = np.concatenate([member, wd])
    order = np.argsort(mem, kind="stable")
    off = _offsets(w.derived["consent_rows"])
    mem_sorted = mem[order]
    rank = np.arange(len(mem_sorted)) - np.searchsorted(mem_sorted, mem_sorted)
    return "member_consents", {
        "id": off[mem_sorted] + rank + 1,
        "member_id": mem_sorted + 1,
        "channel": np.concatenate([channels[pos], np.full(len(wd), "sms")])[order],
        "granted": np.concatenate([np.ones(len(member), np.int64), np.zeros(len(wd), np.int64)])[
            order
        ],
        "recorded_at": (
            "ts",
            np.concatenate([m["join_ts"][member], m["consent_withdrawn_ts"][wd]])[order],
        ),
        "source": np.concatenate(
            [np.full(len(member), "application"), np.full(len(wd), "member_request")]
        )[order],
        "recorded_by": np.concatenate(
            [w.staff.service_users[member % 8], w.staff.service_users[wd % 8]]
        )[order],
    }


def changes_table(w: World, lo: int, hi: int) -> Table:
    m = w.m
    idx = np.arange(lo, hi)
    parts: list[tuple[np.ndarray, np.ndarray, str, np.ndarray, np.ndarray]] = []

    def add(mask, ts, fld, old, new):
        sel = np.flatnonzero(mask)
        parts.append((idx[sel], ts[sel], fld, np.asarray(old)[sel], np.asarray(new)[sel]))

    none = np.full(len(idx), None, dtype=object)
    mob = m["mobile_change_ts"][idx]
    add(mob != NA, mob, "mobile", numbers(m["old_mobile"][idx]), numbers(m["mobile"][idx]))
    adr = m["address_change_ts"][idx]
    add(adr != NA, adr, "address", addresses(m, idx, m["old_addr"]), addresses(m, idx, m["addr"]))
    for key, fld, new in (
        ("email_added_ts", "email", emails(m, idx)),
        ("home_added_ts", "home_phone", home_phones(m, idx)),
        ("address_added_ts", "address", addresses(m, idx, m["addr"])),
    ):
        add(m[key][idx] != NA, m[key][idx], fld, none, new)
    up = m["repl_kind"][idx] == 1
    add(up, m["repl_ts"][idx], "tier", np.full(len(idx), "ordinary"), np.full(len(idx), "vip"))
    st = m["exit_status"][idx]
    add(
        st >= 1,
        m["exit_ts"][idx],
        "status",
        np.full(len(idx), "active"),
        np.full(len(idx), "exit_pending"),
    )
    add(
        st == 2,
        m["exit_review_ts"][idx],
        "status",
        np.full(len(idx), "exit_pending"),
        np.full(len(idx), "archived"),
    )
    add(
        st == 3,
        m["exit_review_ts"][idx],
        "status",
        np.full(len(idx), "exit_pending"),
        np.full(len(idx), "active"),
    )
    member = np.concatenate([p[0] for p in parts])
    ts = np.concatenate([p[1] for p in parts])
    fld = np.concatenate([np.full(len(p[0]), p[2]) for p in parts])
    old = np.concatenate([p[3].astype(object) for p in parts])
    new = np.concatenate([p[4].astype(object) for p in parts])
    order = np.lexsort((ts, member))
    member = member[order]
    rank = np.arange(len(member)) - np.searchsorted(member, member)
    off = _offsets(w.derived["change_rows"])
    is_status = fld[order] == "status"
    by = np.where(
        is_status,
        w.staff.reviewers[member % len(w.staff.reviewers)],
        w.staff.service_users[member % 8],
    )
    return "member_changes", {
        "id": off[member] + rank + 1,
        "member_id": member + 1,
        "changed_at": ("ts", ts[order]),
        "changed_by": by,
        "field": fld[order],
        "old_value": list(old[order]),
        "new_value": list(new[order]),
    }


def exits_table(w: World, lo: int, hi: int) -> Table:
    m = w.m
    idx = np.arange(lo, hi)
    idx = idx[m["exit_ts"][idx] != NA]
    auto = m["exit_auto"][idx]
    st = m["exit_status"][idx]
    reasons = np.array(
        [
            "会员本人申请退会",
            "手机号码停机、信函退回",
            "超过三年无任何消费与活动",
            "重复建档，资料错误",
        ]
    )
    return "exit_requests", {
        "id": w.derived["exit_id"][idx],
        "member_id": idx + 1,
        "exit_type": np.array(EXIT_TYPES)[m["exit_type"][idx]],
        "is_automatic": auto.astype(np.int64),
        "reason": reasons[m["exit_type"][idx]],
        "status": np.array(["", "pending", "approved", "rejected"])[st],
        "requested_at": ("ts", m["exit_ts"][idx]),
        "requested_by": np.where(auto, "system", w.staff.service_users[idx % 8]),
        "reviewed_at": ("ts", m["exit_review_ts"][idx]),
        "reviewed_by": ("str", w.staff.reviewers[idx % len(w.staff.reviewers)], st < 2),
    }


def cards_table(w: World, lo: int, hi: int) -> Table:
    c = w.cards
    r = _rows(c["member"], lo, hi)
    main = c["kind"][r] == 0
    number = numbers(c["number"][r], 10)
    vip = c["vip"][r]
    sub_type = np.where(c["sub_type"][r] == 1, "cobrand", "discount")
    reason = c["end_reason"][r]
    return "cards", {
        "id": np.arange(r.start, r.stop) + 1,
        "card_no": number,
        "member_id": c["member"][r] + 1,
        "kind": np.where(main, "main", "sub"),
        "card_type": np.where(main, np.where(vip, "vip", "ordinary"), sub_type),
        "parent_card_id": ("int", np.where(c["parent"][r] >= 0, c["parent"][r] + 1, NA)),
        "status": CARD_STATUS[c["status"][r]],
        "issued_at": ("ts", c["issued"][r]),
        "expires_on": ("day", c["expires_day"][r]),
        "ended_at": ("ts", c["ended"][r]),
        "end_reason": ("str", CARD_END_REASON[reason], reason == 0),
        "replaced_by_card_id": (
            "int",
            np.where(c["replaced_by"][r] >= 0, c["replaced_by"][r] + 1, NA),
        ),
        "chip_uid": ("str", number, ~main),
    }


def purchases_table(w: World, lo: int, hi: int) -> Table:
    p, m, staff = w.purchases, w.m, w.staff
    r = _rows(p["member"], lo, hi)
    ids = np.arange(r.start, r.stop) + 1
    member = p["member"][r]
    region = m["region"][member]
    auto = p["auto"][r]
    fully = p["fully_ts"][r] != NA
    name = name_strings(m["surname"][member], m["g1"][member], m["g2"][member])
    channel = p["channel"][r]
    return "purchases", {
        "id": ids,
        "purchase_no": concat("P", compact_dates(local_day(p["ts"][r])), numbers(ids, 7)),
        "member_id": member + 1,
        "customer_name": ("str", name, ~auto),
        "customer_mobile": ("str", numbers(m["mobile"][member]), ~auto),
        "customer_id_number": ("str", id_numbers(m, member), ~auto),
        "product": np.array([x[0] for x in vocab.PRODUCTS])[p["product"][r]],
        "quantity": p["quantity"][r],
        "amount": p["amount"][r],
        "discount": p["discount"][r],
        "paid_amount": p["paid"][r],
        "region": np.array(REGIONS.codes)[region],
        "channel": np.array(SALES_CHANNELS)[channel],
        "salesperson": staff.sales[region, p["seller"][r]],
        "regional_manager": staff.managers[region],
        "dealer": ("str", staff.dealers[np.maximum(p["dealer"][r], 0)], p["dealer"][r] < 0),
        "purchase_type": np.array(["new", "additional", "return"])[p["type"][r]],
        "returns_purchase_id": (
            "int",
            np.where(p["returns_idx"][r] >= 0, p["returns_idx"][r] + 1, NA),
        ),
        "purchased_at": ("ts", p["ts"][r]),
        "due_on": ("day", p["due_day"][r]),
        "invoice_no": ("str", concat("FP", numbers(p["invoice"][r])), ~fully),
        "cross_group": p["cross_group"][r].astype(np.int64),
        "fully_paid_at": ("ts", p["fully_ts"][r]),
        "created_at": ("ts", p["ts"][r] + 300),
        "created_by": staff.sales_users[region, p["seller"][r]],
    }


def payments_table(w: World, lo: int, hi: int) -> Table:
    p, pay = w.purchases, w.payments
    a, b = np.searchsorted(p["member"], [lo, hi])
    r = slice(*np.searchsorted(pay["purchase"], [a, b]).tolist())
    purchase = pay["purchase"][r]
    return "purchase_payments", {
        "id": np.arange(r.start, r.stop) + 1,
        "purchase_id": purchase + 1,
        "amount": pay["amount"][r],
        "paid_at": ("ts", pay["ts"][r]),
        "method": np.array(PAYMENT_METHODS)[pay["method"][r]],
        "idempotency_key": concat("payment:", numbers(purchase + 1), ":", numbers(pay["k"][r] + 1)),
        "created_at": ("ts", pay["ts"][r] + 120),
    }


def entries_table(w: World, lo: int, hi: int) -> Table:
    e = w.entries
    r = _rows(e["member"], lo, hi)
    ids = np.arange(r.start, r.stop) + 1
    member = e["member"][r]
    et = e["etype"][r]
    src = e["src"][r]
    mno = member_no(member)
    # The business reference of each entry, and its idempotency key.
    purchase_id = numbers(src + 1)
    act = (
        w.attendance["activity"][np.minimum(src, len(w.attendance["activity"]) - 1)]
        if len(w.attendance["activity"])
        else src
    )
    act_code = (
        w.derived["activity_code"][np.where(et == E["activity"], act, 0)]
        if len(w.derived["activity_code"])
        else np.full(len(src), "")
    )
    vis = np.where(et == E["swipe"], src, 0)
    swipe = (
        w.swipe_ids(w.visits["reader"][vis], w.visits["seq"][vis])
        if len(w.visits["reader"])
        else np.full(len(src), "")
    )
    care = (
        numbers(w.contacts["care"][np.where(et == E["care"], src, 0)] + 1)
        if len(w.contacts["care"])
        else np.full(len(src), "")
    )
    complaint_no = (
        _complaint_numbers(w, np.where(et == E["complaint"], src, 0))
        if len(w.complaints["ts"])
        else np.full(len(src), "")
    )
    year = numbers(e["year"][r])
    ref = np.select(
        [
            et == E["purchase"],
            et == E["activity"],
            et == E["swipe"],
            et == E["care"],
            et == E["complaint"],
            et == E["redemption"],
            et == E["expiry"],
        ],
        [
            concat("purchase:", purchase_id),
            concat("activity:", act_code),
            concat("swipe:", swipe),
            concat("care:", care),
            concat("complaint:", complaint_no),
            concat("redemption:", purchase_id),
            concat("expiry:", year),
        ],
        "",
    )
    key = np.select(
        [
            et == E["activity"],
            et == E["care"],
            et == E["manual"],
            et == E["expiry"],
            et == E["opening"],
        ],
        [
            concat(ref, ":", mno),
            concat(ref, ":", mno),
            concat("manual:", numbers(ids)),
            concat(ref, ":", mno),
            concat("opening:", mno),
        ],
        ref,
    )
    status = e["status"][r]
    posted = status == POSTED
    system = np.isin(et, [E["purchase"], E["activity"], E["swipe"], E["care"], E["expiry"]])
    approved = posted & np.isin(et, [E["purchase"], E["activity"], E["manual"], E["complaint"]])
    clerk = w.staff.service_users[e["clerk"][r]]
    return "point_entries", {
        "id": ids,
        "member_id": member + 1,
        "card_id": ("int", np.where(e["card"][r] >= 0, e["card"][r] + 1, NA)),
        "points": e["points"][r],
        "event_type": np.array(EVENT_TYPES)[et],
        "status": ENTRY_STATUS[status],
        "reference": ("str", ref, np.isin(et, [E["manual"], E["opening"]])),
        "reason": ENTRY_REASON[et],
        "idempotency_key": key,
        "reverses_entry_id": None,
        "remaining": ("int", e["remaining"][r]),
        "expires_on": ("day", e["expires_day"][r]),
        "created_at": ("ts", e["created"][r]),
        "created_by": np.where(et == E["opening"], "migration", np.where(system, "system", clerk)),
        "posted_at": ("ts", e["posted"][r]),
        "approved_by": ("str", w.staff.supervisors[e["approver"][r]], ~approved),
    }


def _complaint_numbers(w: World, index: np.ndarray) -> np.ndarray:
    return concat("TS", compact_dates(local_day(w.complaints["ts"][index])), numbers(index + 1, 6))


def balances_table(w: World, lo: int, hi: int) -> Table:
    b = w.balances
    idx = np.arange(lo, hi)
    return "member_point_balances", {
        "member_id": idx + 1,
        "balance": b["balance"][idx],
        "earned_total": b["earned"][idx],
        "updated_at": ("ts", b["updated"][idx]),
    }


def redemptions_table(w: World, lo: int, hi: int) -> Table:
    red = w.redemptions
    r = _rows(red["member"], lo, hi)
    visit = red["visit"][r]
    swipe = w.swipe_ids(w.visits["reader"][visit], w.visits["seq"][visit])
    return "redemptions", {
        "id": np.arange(r.start, r.stop) + 1,
        "plan_id": red["plan"][r] + 1,
        "member_id": red["member"][r] + 1,
        "card_id": red["card"][r] + 1,
        "quantity": 1,
        "points": red["cost"][r],
        "point_entry_id": red["entry"][r] + 1,
        "redeemed_at": ("ts", red["ts"][r]),
        "redeemed_by": w.staff.service_users[red["clerk"][r]],
        "idempotency_key": concat("redemption:", swipe),
    }


def attendance_table(w: World, lo: int, hi: int) -> Table:
    a = w.attendance
    r = _rows(a["member"], lo, hi)
    source = a["source"][r]
    entry = a["entry"][r]
    return "activity_attendance", {
        "id": np.arange(r.start, r.stop) + 1,
        "activity_id": a["activity"][r] + 1,
        "member_id": a["member"][r] + 1,
        "card_id": a["card"][r] + 1,
        "attended_at": ("ts", a["ts"][r]),
        "source": ATTENDANCE_SOURCE[source],
        "point_entry_id": ("int", np.where(entry >= 0, entry + 1, NA)),
        "recorded_by": np.where(source == 2, "system", w.staff.service_users[a["recorder"][r]]),
    }


def contacts_table(w: World, lo: int, hi: int) -> Table:
    c, cares = w.contacts, w.cares
    r = _rows(c["member"], lo, hi)
    care = c["care"][r]
    trig = cares["trigger"][care]
    purchase = c["purchase"][r]
    act = cares["activity"][care]
    year = (
        local_day(c["ts"][r]).astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64)
        + 1970
    )
    ref = np.select(
        [trig == 1, trig == 2, trig == 3],
        [
            concat("birthday:", numbers(year)),
            concat("purchase:", numbers(purchase + 1)),
            concat("activity:", w.derived["activity_code"][np.maximum(act, 0)]),
        ],
        "",
    )
    status = c["status"][r]
    responded = c["responded"][r]
    channel = c["channel"][r]
    response = np.where(status == 1, RESPONSES[channel], RESPONSES[5])
    return "care_contacts", {
        "id": np.arange(r.start, r.stop) + 1,
        "care_id": care + 1,
        "member_id": c["member"][r] + 1,
        "channel": np.array(CARE_CHANNELS)[channel],
        "is_control": (status == 3).astype(np.int64),
        "status": CONTACT_STATUS[status],
        "trigger_ref": ("str", ref, trig == 0),
        "contacted_at": ("ts", c["ts"][r]),
        "responded_at": ("ts", responded),
        "response": ("str", response, responded == NA),
    }


def complaints_tables(w: World, lo: int, hi: int) -> tuple[Table, Table]:
    c, s, staff = w.complaints, w.steps, w.staff
    r = _rows(c["member"], lo, hi)
    ids = np.arange(r.start, r.stop) + 1
    ctype = c["type"][r]
    content = np.array([COMPLAINT_TEXT[t][k] for t in range(4) for k in range(4)])[
        ctype * 4 + c["content"][r]
    ]
    card_no = numbers(w.cards["number"][c["card"][r]], 10)
    status = c["status"][r]
    complaints = {
        "id": ids,
        "complaint_no": _complaint_numbers(w, np.arange(r.start, r.stop)),
        "member_id": c["member"][r] + 1,
        "card_no": card_no,
        "channel": np.array(COMPLAINT_CHANNELS)[c["channel"][r]],
        "complaint_type": np.array(COMPLAINT_TYPES)[ctype],
        "content": content,
        "receiver": staff.service[c["receiver"][r]],
        "received_at": ("ts", c["ts"][r]),
        "importance": IMPORTANCE[c["importance"][r]],
        "due_at": ("ts", c["due"][r]),
        "status": COMPLAINT_STATUS[status],
        "closed_at": ("ts", c["closed"][r]),
        "closed_by": ("str", staff.service_users[c["closer"][r]], status != 2),
        "satisfaction": ("int", c["satisfaction"][r]),
        "version": 1,
    }
    sr = slice(*np.searchsorted(s["complaint"], [r.start, r.stop]).tolist())
    comp = s["complaint"][sr]
    dept = TYPE_DEPARTMENT[c["type"][comp]]
    last = s["last"][sr] & (c["status"][comp] == 2)
    opinion_idx = np.where(last, 3, np.minimum(s["position"][sr], 2))
    steps = {
        "id": np.arange(sr.start, sr.stop) + 1,
        "complaint_id": comp + 1,
        "handled_at": ("ts", s["ts"][sr]),
        "handler": staff.handlers[dept, s["handler"][sr]],
        "department": np.array(DEPARTMENTS)[dept],
        "opinion": np.array(STEP_OPINION)[opinion_idx],
        "expected_completion": (
            "ts",
            np.where(last, NA, np.minimum(s["expected"][sr], c["due"][comp])),
        ),
    }
    return ("complaints", complaints), ("complaint_steps", steps)


def uses_table(w: World, lo: int, hi: int) -> Table:
    u = w.uses
    r = _rows(u["member"], lo, hi)
    visit = u["visit"][r]
    by_reader = visit >= 0
    v = np.maximum(visit, 0)
    swipe = (
        w.swipe_ids(w.visits["reader"][v], w.visits["seq"][v])
        if len(w.visits["reader"])
        else np.full(len(visit), "")
    )
    return "merchant_service_uses", {
        "id": np.arange(r.start, r.stop) + 1,
        "service_id": u["service"][r] + 1,
        "member_id": u["member"][r] + 1,
        "used_at": ("ts", u["ts"][r]),
        "source": np.where(by_reader, "reader", "manual"),
        "idempotency_key": ("str", concat("swipe:", swipe), ~by_reader),
    }


# -- tables shared by all members ----------------------------------------------------------------
def global_tables(w: World) -> list[Table]:
    """Reference and club-wide tables (inserted before the member chunks)."""
    return [
        ("card_readers", _reader_rows(w)),
        ("merchants", w.merchants.rows),
        ("merchant_services", w.merchants.service_rows),
        ("redemption_plans", w.plans.rows),
        *activity_tables(w),
        ("cares", care_rows(w)),
    ]


def _reader_rows(w: World) -> Columns:
    s = w.swipes
    last = np.full(len(w.readers.reader_id), NA)
    if len(s["reader"]):
        np.maximum.at(last, s["reader"], s["ts_ms"] // 1000)
    return {**w.readers.rows, "last_seen_at": ("ts", last)}


def activity_tables(w: World) -> list[Table]:
    a, staff = w.activities, w.staff
    k = len(a["day"])
    ids = np.arange(1, k + 1)
    atype = a["type"]
    names_by_type = [ACTIVITY_NAMES[t] for t in ACTIVITY_TYPES]
    label = np.array(
        [
            names_by_type[t][i % len(names_by_type[t])]
            for t, i in zip(atype, a["name_idx"], strict=True)
        ]
    )
    region = a["region"]
    city = np.array(
        [
            REGIONS.labels[g]
            if REGIONS.labels[g].endswith("市")
            else REGIONS.county_cities[REGIONS.county_first[g]]
            for g in range(len(REGIONS.codes))
        ]
    )[region]
    status = a["status"]
    decided = status >= 2
    expected_cost = (
        a["shared_cost"]
        + a["material_cost"]
        + (a["per_head_cost"] + a["gift_cost"]) * a["expected_headcount"]
    )
    activities = {
        "id": ids,
        "code": w.derived["activity_code"],
        "name": concat(city, label),
        "activity_type": np.array(ACTIVITY_TYPES)[atype],
        "starts_at": ("ts", a["starts"]),
        "ends_at": ("ts", a["ends"]),
        "place": concat(city, np.array(VENUES)[a["venue"]]),
        "region": np.array(REGIONS.codes)[region],
        "expected_headcount": a["expected_headcount"],
        "expected_cost": np.round(expected_cost, 2),
        "plan_text": concat(
            "面向",
            np.array(REGIONS.labels)[region],
            "会员，",
            label,
            "，预计",
            numbers(a["expected_headcount"]),
            "人参加。",
        ),
        "points_per_attendee": a["points"],
        "status": ACTIVITY_STATUS[status],
        "created_at": ("ts", a["created"]),
        "created_by": staff.planners[ids % len(staff.planners)],
        "decided_at": ("ts", np.where(decided, a["decided"], NA)),
        "decided_by": ("str", staff.decision_makers[ids % len(staff.decision_makers)], ~decided),
        "closed_at": ("ts", np.where(status == 5, a["closed"], NA)),
    }
    # Costs of held activities: shared lines (venue, material) and per-head lines.
    closed = status == 5
    running = status == 4
    lines = []
    for kind, desc, amount, mask in (
        ("shared", "场地租赁", a["shared_cost"], closed | running),
        ("shared", "物料布置", a["material_cost"], closed & (a["material_cost"] > 0)),
        ("per_head", "餐饮（每人）", a["per_head_cost"], closed),
        ("per_head", "伴手礼（每人）", a["gift_cost"], closed & (a["gift_cost"] > 0)),
    ):
        sel = np.flatnonzero(mask)
        when = np.where(closed[sel], a["ends"][sel] + 2 * DAY, a["starts"][sel] - 3 * DAY)
        lines.append((sel, np.full(len(sel), kind), np.full(len(sel), desc), amount[sel], when))
    act = np.concatenate([x[0] for x in lines])
    order = np.argsort(act, kind="stable")
    costs = {
        "id": np.arange(1, len(act) + 1),
        "activity_id": act[order] + 1,
        "kind": np.concatenate([x[1] for x in lines])[order],
        "description": np.concatenate([x[2] for x in lines])[order],
        "amount": np.concatenate([x[3] for x in lines])[order].astype(float),
        "recorded_at": (
            "ts",
            np.minimum(np.concatenate([x[4] for x in lines])[order], w.tl.end_ts - 60),
        ),
    }
    return [("activities", activities), ("activity_costs", costs)]


def care_rows(w: World) -> Columns:
    c, staff = w.cares, w.staff
    k = len(c["ts"])
    ids = np.arange(1, k + 1)
    trig = c["trigger"]
    day = local_day(c["ts"])
    ym = day.astype("datetime64[D]").astype("datetime64[M]")
    year = ym.astype("datetime64[Y]").astype(np.int64) + 1970
    month = ym.astype(np.int64) % 12 + 1
    act = np.maximum(c["activity"], 0)
    codes = w.derived["activity_code"][act] if len(w.derived["activity_code"]) else np.full(k, "")
    title = np.select(
        [trig == 1, trig == 2, trig == 3],
        [
            concat(numbers(year), "年", numbers(month), "月", CARE_TITLE[1]),
            concat(CARE_TITLE[2], "（", compact_dates(day), "）"),
            concat(CARE_TITLE[3], "：", codes),
        ],
        concat(np.array(CAMPAIGNS)[ids % len(CAMPAIGNS)], "（", numbers(year), "）"),
    )
    content = np.array(
        [
            "尊敬的会员，天诺会员俱乐部为您准备了专属礼遇，欢迎到会员服务中心领取。",
            "亲爱的会员，祝您生日快乐！生日当月到会员服务中心可领取生日礼品。",
            "感谢您的信任与支持，我们将竭诚为您提供优质服务。",
            "感谢您参加本次活动，期待下次与您相见。",
        ]
    )[trig]
    channel = np.where(c["channel"] >= 0, c["channel"], 0)
    return {
        "id": ids,
        "trigger": np.array(TRIGGERS)[trig],
        "channel": np.array(CARE_CHANNELS)[channel],
        "title": title,
        "content": content,
        "control_share": c["control_share"],
        "run_on": ("day", day),
        "created_at": ("ts", c["ts"] - 3600),
        "created_by": np.where(trig == 0, staff.planners[ids % len(staff.planners)], "system"),
    }
