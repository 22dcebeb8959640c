"""The club's fixed cast: staff names, card readers, merchants and services, redemption plans.

Small tables, sized by the number of members, drawn from their own streams.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from demodata import vocab
from demodata.people import REGIONS, draw_names, name_strings
from demodata.rng import stream, weighted_choice
from demodata.timebase import DAY, NA, Timeline, day_number

DEPARTMENTS = ("销售部", "工程维修部", "物业服务中心", "客服中心")
MERCHANT_TYPES = tuple(vocab.MERCHANT_BRANDS)
ACTIVITY_READER_REGIONS = ("11", "31", "44")  # club houses with an entrance reader
LOUNGE_READER_REGIONS = ("11", "31")  # member service centres awarding visit points
MERCHANT_READER_REGIONS = ("11", "31", "44", "32", "33", "51")


@dataclass
class Staff:
    sales: np.ndarray  # (regions, 4) display names
    sales_users: np.ndarray  # (regions, 4) user names
    managers: np.ndarray  # (regions,) regional managers
    service: np.ndarray  # service-centre staff names (complaint receivers)
    service_users: np.ndarray
    handlers: np.ndarray  # (departments, 3) complaint handlers
    reviewers: np.ndarray  # user names
    supervisors: np.ndarray
    planners: np.ndarray  # activity planners (user names)
    decision_makers: np.ndarray  # managers approving activities (user names)
    dealers: np.ndarray


def build_staff(seed: int) -> Staff:
    rng = stream(seed, "staff")
    regions = len(REGIONS.codes)
    total = regions * 4 + regions + 8 + len(DEPARTMENTS) * 3
    male = rng.random(total) < 0.5
    names = name_strings(*draw_names(rng, male))
    pos = 0

    def take(count: int) -> np.ndarray:
        nonlocal pos
        pos += count
        return names[pos - count : pos]

    sales = take(regions * 4).reshape(regions, 4)
    sales_users = np.array(
        [[f"sales{code}{k + 1:02d}" for k in range(4)] for code in REGIONS.codes]
    )
    return Staff(
        sales=sales,
        sales_users=sales_users,
        managers=take(regions),
        service=take(8),
        service_users=np.array([f"cs{k + 1:02d}" for k in range(8)]),
        handlers=take(len(DEPARTMENTS) * 3).reshape(len(DEPARTMENTS), 3),
        reviewers=np.array([f"reviewer{k + 1:02d}" for k in range(4)]),
        supervisors=np.array([f"supervisor{k + 1:02d}" for k in range(3)]),
        planners=np.array([f"planner{k + 1:02d}" for k in range(4)]),
        decision_makers=np.array([f"manager{k + 1:02d}" for k in range(3)]),
        dealers=np.array(
            [
                "链家地产代理有限公司",
                "我爱我家房地产经纪有限公司",
                "中原地产代理有限公司",
                "世联行房地产顾问有限公司",
                "易居房地产营销有限公司",
                "贝壳找房经纪有限公司",
            ]
        ),
    )


@dataclass
class Merchants:
    rows: dict[str, np.ndarray | list]  # columns of the merchants table
    region: np.ndarray  # region index per merchant
    code: np.ndarray
    service_merchant: np.ndarray  # per service: merchant index
    service_start_day: np.ndarray
    service_end_day: np.ndarray  # NA: open-ended
    service_rows: dict[str, np.ndarray | list]

    @property
    def count(self) -> int:
        return len(self.code)


def build_merchants(seed: int, n_members: int, tl: Timeline) -> Merchants:
    rng = stream(seed, "merchants")
    count = int(np.clip(n_members // 2500, 12, 400))
    region = weighted_choice(rng, REGIONS.shares, count)
    region[: len(MERCHANT_READER_REGIONS)] = [REGIONS.index(c) for c in MERCHANT_READER_REGIONS]
    mtype = rng.integers(0, len(MERCHANT_TYPES), size=count)
    brand = np.array(
        [
            vocab.MERCHANT_BRANDS[MERCHANT_TYPES[t]][
                rng.integers(len(vocab.MERCHANT_BRANDS[MERCHANT_TYPES[t]]))
            ]
            for t in mtype
        ]
    )
    county = REGIONS.county_first[region] + (
        rng.random(count) * REGIONS.county_count[region]
    ).astype(np.int64)
    city, district = REGIONS.county_cities[county], REGIONS.county_districts[county]
    names = np.strings.add(np.strings.add(np.strings.add(city, brand), "（"), district)
    names = np.strings.add(names, "店）")
    code = np.array([f"MER{k + 1:04d}" for k in range(count)])
    contact = name_strings(*draw_names(rng, rng.random(count) < 0.5))
    area = np.array(REGIONS.area_codes)[region]
    phone1 = np.strings.add(
        np.strings.add(area, "-"), rng.integers(20_000_000, 89_999_999, size=count).astype("U")
    )
    phone2 = np.where(
        rng.random(count) < 0.4,
        np.strings.add("1", rng.integers(3_000_000_000, 9_999_999_999, size=count).astype("U")),
        None,
    )
    street = np.array(vocab.STREETS)[rng.integers(0, len(vocab.STREETS), size=count)]
    address = [
        f"{REGIONS.address_prefix[r]}{c}{d}{s}{k}号"
        for r, c, d, s, k in zip(
            region, city, district, street, rng.integers(1, 500, size=count), strict=True
        )
    ]
    parent = [
        f"{b}管理有限公司" if u < 0.3 else None
        for b, u in zip(brand, rng.random(count), strict=True)
    ]
    contract_end = tl.start_day + rng.integers(180, 1300, size=count)
    rows = {
        "id": np.arange(1, count + 1),
        "code": code,
        "name": names,
        "contact": contact,
        "address": address,
        "phone1": phone1,
        "phone2": list(phone2),
        "parent_company": parent,
        "merchant_type": np.array(MERCHANT_TYPES)[mtype],
        "importance": np.array(["low", "normal", "high"])[
            weighted_choice(rng, (0.2, 0.6, 0.2), count)
        ],
        "region": np.array(REGIONS.codes)[region],
        "contract_ends_on": ("day", contract_end),
        "active": (contract_end >= tl.end_day).astype(np.int64),
    }

    # Services: one to three per merchant, some ended, some restricted to VIP members.
    per = rng.integers(1, 4, size=count)
    s_merchant = np.repeat(np.arange(count), per)
    ns = len(s_merchant)
    template = rng.integers(0, len(vocab.SERVICE_TEMPLATES), size=ns)
    start = tl.start_day - rng.integers(0, 300, size=ns)
    ends = np.where(
        rng.random(ns) < 0.35, tl.start_day + rng.integers(60, tl.n_days + 200, size=ns), NA
    )
    tenths = rng.integers(16, 20, size=ns)  # 8, 8.5, 9, 9.5 (in halves)
    discount = tenths * 5 / 100.0
    names_s, contents, restrictions = [], [], []
    for t, d in zip(template, tenths, strict=True):
        label, content, restriction = vocab.SERVICE_TEMPLATES[t]
        shown = f"{d * 5 / 10:g}"
        names_s.append(label.format(d=shown))
        contents.append(content.format(d=shown))
        restrictions.append(restriction)
    feedback = np.array(
        [
            "会员反馈良好，使用率稳定",
            "使用人数较上季度增长",
            "部分会员反映需提前预约",
            "本季度使用率偏低，拟加强宣传",
        ]
    )[rng.integers(0, 4, size=ns)]
    service_rows = {
        "id": np.arange(1, ns + 1),
        "merchant_id": s_merchant + 1,
        "name": names_s,
        "starts_on": ("day", start),
        "ends_on": ("day", ends),
        "content": contents,
        "member_restriction": restrictions,
        "discount": np.where(template == 0, discount, np.nan),
        "quarterly_feedback": feedback,
        "rating": rng.integers(3, 6, size=ns),
    }
    return Merchants(
        rows=rows,
        region=region,
        code=code,
        service_merchant=s_merchant,
        service_start_day=start,
        service_end_day=ends,
        service_rows=service_rows,
    )


@dataclass
class Readers:
    reader_id: list[str]
    kind: np.ndarray  # 0 activity entrance, 1 lounge (points), 2 merchant counter
    region: np.ndarray
    merchant: np.ndarray  # merchant index for counters, -1 otherwise
    rows: dict[str, np.ndarray | list]

    def of_kind(self, kind: int) -> np.ndarray:
        return np.flatnonzero(self.kind == kind)


PURPOSE_OF_KIND = ("activity_checkin", "points_award", "merchant_counter")


def build_readers(merchants: Merchants, tl: Timeline) -> Readers:
    specs: list[tuple[int, int, int, str, str]] = []
    for code in ACTIVITY_READER_REGIONS:
        r = REGIONS.index(code)
        city = "深圳市" if code == "44" else REGIONS.labels[r]
        specs.append((0, r, -1, f"{city}会所入口", f"{city}天诺会所"))
    for code in LOUNGE_READER_REGIONS:
        r = REGIONS.index(code)
        specs.append(
            (1, r, -1, f"{REGIONS.labels[r]}会员服务中心", f"{REGIONS.labels[r]}会员服务中心前台")
        )
    for k, code in enumerate(MERCHANT_READER_REGIONS):
        r = REGIONS.index(code)
        name = str(merchants.rows["name"][k])
        specs.append((2, r, k, f"{name}收银台", name))
    count = len(specs)
    reader_id = [f"R{k + 1:02d}" for k in range(count)]
    kind = np.array([s[0] for s in specs])
    rows = {
        "id": np.arange(1, count + 1),
        "reader_id": reader_id,
        "name": [s[3] for s in specs],
        "location": [s[4] for s in specs],
        "protocol": "rdm6300",
        "port": [f"/dev/ttyUSB{k % 4}" for k in range(count)],
        "purpose": [PURPOSE_OF_KIND[s[0]] for s in specs],
        "target": [str(merchants.code[s[2]]) if s[0] == 2 else None for s in specs],
        "active": 1,
        "installed_at": ("ts", np.full(count, tl.start_ts - 30 * DAY + 10 * 3600)),
    }
    return Readers(
        reader_id=reader_id,
        kind=kind,
        region=np.array([s[1] for s in specs]),
        merchant=np.array([s[2] for s in specs]),
        rows=rows,
    )


@dataclass
class Plans:
    cost: np.ndarray
    start_day: np.ndarray
    end_day: np.ndarray  # inclusive; NA: open-ended
    rows: dict[str, np.ndarray | list]

    def active_at(self, days: np.ndarray) -> np.ndarray:
        """(len(days), plans) mask of plans open on each day."""
        days = np.asarray(days)[:, None]
        end = np.where(self.end_day == NA, np.iinfo(np.int64).max, self.end_day)
        return (days >= self.start_day[None, :]) & (days <= end[None, :])


def build_plans(seed: int, tl: Timeline) -> Plans:
    rng = stream(seed, "plans")
    items, costs, starts, ends = [], [], [], []
    years = range(tl.start.year - 1, tl.end.year + 1)
    for item, cost, season in vocab.REDEMPTION_ITEMS:
        if season is None:
            start = tl.start_day - int(rng.integers(30, 400))
            if rng.random() < 0.25:  # introduced during the history
                start = tl.start_day + int(rng.integers(30, max(31, tl.n_days - 60)))
            end = NA if rng.random() < 0.75 else start + int(rng.integers(200, 500))
            items.append(item)
            costs.append(cost)
            starts.append(start)
            ends.append(end)
            continue
        for year in years:  # seasonal: one plan per year
            first, last = (
                ((year, 1, 1), (year, 2, 28))
                if season == "spring"
                else ((year, 8, 1), (year, 9, 30))
            )
            start, end = day_number(date(*first)), day_number(date(*last))
            if end < tl.start_day - 365 or start > tl.end_day + 60:
                continue
            items.append(f"{item}（{year}）")
            costs.append(cost)
            starts.append(start)
            ends.append(end)
    count = len(items)
    end_arr = np.array(ends, dtype=np.int64)
    rows = {
        "id": np.arange(1, count + 1),
        "code": [f"RP{k + 1:03d}" for k in range(count)],
        "item": items,
        "points_cost": np.array(costs),
        "stock": np.zeros(count, dtype=np.int64),  # set after the redemptions are known
        "starts_on": ("day", np.array(starts)),
        "ends_on": ("day", end_arr),
        "active": ((end_arr == NA) | (end_arr >= tl.end_day)).astype(np.int64),
        "visible_on_website": (rng.random(count) < 0.85).astype(np.int64),
        "created_at": ("ts", (np.array(starts) - 7) * DAY + 2 * 3600),
    }
    return Plans(cost=np.array(costs), start_day=np.array(starts), end_day=end_arr, rows=rows)
