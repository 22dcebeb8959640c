"""Labels in Chinese and English, and locale-aware formatting of numbers, money and dates.

Plain Python (testable without Streamlit) except :func:`current_locale` and :func:`t`, which read
the locale chosen in the sidebar from ``st.session_state``.
"""

from __future__ import annotations

import threading
import time
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from operational.dictionary_defaults import DEFAULT_ITEMS

LOCALES = ("zh_CN", "en_US")
DEFAULT_LOCALE = "zh_CN"
LOCALE_STATE_KEY = "locale"
LOCALE_NAMES = {"zh_CN": "中文", "en_US": "English"}
#: Staff and managers read times in the club's local time.
DISPLAY_TIMEZONE = ZoneInfo("Asia/Shanghai")

STRINGS: dict[str, dict[str, str]] = {
    "zh_CN": {
        "app.title": "ClubCRM 会员俱乐部",
        "nav.dashboards": "数据看板",
        "nav.operations": "业务操作",
        "nav.overview": "总览",
        "nav.members": "会员查询",
        "nav.purchases": "销售成交",
        "nav.complaints": "投诉处理",
        "nav.activities": "活动管理",
        "nav.care": "会员关怀",
        "nav.merchants": "商家管理",
        "nav.readers": "刷卡机",
        "nav.admin": "系统管理",
        "nav.point_rules": "积分规则",
        "nav.dictionary": "数据字典",
        "sidebar.language": "语言",
        "auth.title": "登录 ClubCRM",
        "auth.username": "用户名",
        "auth.password": "密码",
        "auth.submit": "登录",
        "auth.missing": "请输入用户名和密码。",
        "auth.bad_credentials": "用户名或密码错误。",
        "auth.locked": (
            "登录失败次数过多，账户已锁定。请 {minutes} 分钟后（{until} 之后）再试，或联系管理员。"
        ),
        "auth.inactive": "该账户已停用，请联系管理员。",
        "auth.db_unavailable": (
            "无法打开业务数据库：{error}。如果还没有初始化，请先运行 `clubcrm init`。"
        ),
        "auth.required": "请先登录。",
        "auth.not_allowed": "您的角色（{role}）无权打开此页面。请从左侧菜单选择其他页面。",
        "auth.signed_in_as": "当前用户：**{name}**",
        "auth.role": "角色：{role}",
        "auth.sign_out": "退出登录",
        "role.staff": "业务员",
        "role.reviewer": "审核员",
        "role.manager": "经理",
        "role.analyst": "数据分析员",
        "role.admin": "管理员",
        "members.reveal": "显示完整证件号和电话",
        "members.revealed": "已显示完整号码；本次查看已记录（{user}）。",
        "overview.title": "会员总览",
        "overview.published_at": "数据发布时间：{when}",
        "overview.as_of": "数据截至 {day}",
        "overview.no_warehouse": (
            "还没有可用的数据仓库。请先运行 `clubcrm pipeline run`（加载数据并发布），"
            "然后刷新本页。"
        ),
        "overview.load_failed": "读取数据仓库失败：{error}",
        "kpi.total_members": "会员总数",
        "kpi.active_members": "有效会员",
        "kpi.purchases": "成交笔数",
        "kpi.revenue": "成交金额",
        "kpi.points_outstanding": "未兑积分",
        "kpi.open_complaints": "未结投诉",
        "kpi.help.total_members": "所有会员，含待退会和已归档",
        "kpi.help.revenue": "全部成交金额合计（退货为负数）",
        "kpi.help.points_outstanding": "所有会员当前积分余额之和（积分负债）",
        "kpi.help.open_complaints": "状态为待处理或处理中的投诉",
        "chart.joins_by_month": "每月入会人数（按等级）",
        "chart.by_region": "各地区会员（按等级）",
        "chart.month": "入会月份",
        "chart.members": "会员数",
        "chart.active_members": "有效会员",
        "chart.region": "地区",
        "chart.tier": "等级",
        "chart.no_data": "暂无数据。",
        "chart.unknown_region": "未知",
        "members.title": "会员查询",
        "members.query": "会员号、卡号、手机号（或后四位）、姓名或身份证号",
        "members.search": "查询",
        "members.include_archived": "包括已归档会员",
        "members.hint": (
            "输入会员号、卡号、手机号（可带空格、横线或 +86，也可只输后四位）、"
            "姓名的一部分或身份证号，然后点击“查询”。"
        ),
        "members.no_match": "没有找到与“{query}”匹配的会员。",
        "members.found": "找到 {count} 位会员。",
        "members.more": "只显示前 {count} 条结果，请输入更具体的条件。",
        "members.pick": "查看会员",
        "members.db_unavailable": (
            "无法打开业务数据库：{error}。如果还没有初始化，请先运行 `clubcrm init`。"
        ),
        "col.member_no": "会员号",
        "col.name": "姓名",
        "col.tier": "等级",
        "col.status": "状态",
        "col.region": "地区",
        "col.joined_at": "入会日期",
        "col.mobile": "手机",
        "col.main_card": "主卡",
        "col.matched_on": "匹配项",
        "col.card_no": "卡号",
        "col.kind": "类别",
        "col.card_type": "卡类型",
        "col.issued_at": "发卡时间",
        "col.expires_on": "有效期至",
        "col.ended_at": "终止时间",
        "col.parent_card": "所属主卡",
        "col.purchase_no": "成交单号",
        "col.purchased_at": "成交时间",
        "col.product": "产品",
        "col.amount": "金额",
        "col.paid_amount": "已付",
        "col.purchase_type": "类型",
        "col.salesperson": "销售员",
        "col.points": "积分",
        "col.event_type": "事件",
        "col.created_at": "创建时间",
        "col.posted_at": "入账时间",
        "col.reason": "说明",
        "col.changed_at": "修改时间",
        "col.changed_by": "修改人",
        "col.field": "字段",
        "col.value": "内容",
        "col.old_value": "原值",
        "col.new_value": "新值",
        "detail.profile": "基本资料",
        "detail.gender": "性别",
        "detail.birthday": "生日",
        "detail.id_number": "身份证号",
        "detail.home_phone": "家庭电话",
        "detail.email": "电子邮件",
        "detail.address": "地址",
        "detail.channel": "入会渠道",
        "detail.incomplete": "资料不完整（历史数据导入）",
        "detail.points_balance": "积分余额",
        "detail.points_pending": "待审批积分",
        "detail.open_complaints": "未结投诉",
        "detail.cards": "会员卡",
        "detail.purchases": "最近成交",
        "detail.points": "最近积分变动",
        "detail.history": "资料变更记录",
        "detail.none": "无记录。",
        "matched.member_no": "会员号",
        "matched.card_no": "卡号",
        "matched.id_number": "身份证号",
        "matched.mobile": "手机号",
        "matched.member_no_prefix": "会员号前缀",
        "matched.mobile_last4": "手机后四位",
        "matched.name": "姓名",
        "status.active": "有效",
        "status.exit_pending": "待退会",
        "status.archived": "已归档",
        "card_status.active": "有效",
        "card_status.replaced": "已换卡",
        "card_status.lost": "已挂失",
        "card_status.cancelled": "已注销",
        "card_status.expired": "已过期",
        "kind.main": "主卡",
        "kind.sub": "副卡",
        "gender.M": "男",
        "gender.F": "女",
        "point_status.pending": "待审批",
        "point_status.posted": "已入账",
        "point_status.rejected": "已拒绝",
        "purchase_type.new": "新购",
        "purchase_type.additional": "加购",
        "purchase_type.return": "退货",
        "event.purchase": "购买",
        "event.activity": "活动",
        "event.care": "关怀",
        "event.complaint": "投诉",
        "event.redemption": "兑付",
        "event.swipe": "刷卡",
        "event.manual": "手工调整",
        "event.expiry": "过期",
        "event.reversal": "冲正",
        "event.opening": "期初积分",
    },
    "en_US": {
        "app.title": "ClubCRM",
        "nav.dashboards": "Dashboards",
        "nav.operations": "Operations",
        "nav.overview": "Overview",
        "nav.members": "Members",
        "nav.purchases": "Purchases",
        "nav.complaints": "Complaints",
        "nav.activities": "Activities",
        "nav.care": "Care",
        "nav.merchants": "Merchants",
        "nav.readers": "Card readers",
        "nav.admin": "Administration",
        "nav.point_rules": "Points rules",
        "nav.dictionary": "Dictionary",
        "sidebar.language": "Language",
        "auth.title": "Sign in to ClubCRM",
        "auth.username": "Username",
        "auth.password": "Password",
        "auth.submit": "Sign in",
        "auth.missing": "Enter your username and password.",
        "auth.bad_credentials": "Wrong username or password.",
        "auth.locked": (
            "Too many failed sign-ins: the account is locked. Try again in {minutes} minutes "
            "(after {until}), or ask an administrator."
        ),
        "auth.inactive": "This account is deactivated; ask an administrator.",
        "auth.db_unavailable": (
            "Cannot open the operational database: {error}. If it is new, run `clubcrm init`."
        ),
        "auth.required": "Please sign in first.",
        "auth.not_allowed": (
            "Your role ({role}) may not open this page. Choose another page in the menu."
        ),
        "auth.signed_in_as": "Signed in as **{name}**",
        "auth.role": "Role: {role}",
        "auth.sign_out": "Sign out",
        "role.staff": "Staff",
        "role.reviewer": "Reviewer",
        "role.manager": "Manager",
        "role.analyst": "Analyst",
        "role.admin": "Administrator",
        "members.reveal": "Show full ID and phone numbers",
        "members.revealed": "Full numbers shown; this view is logged ({user}).",
        "overview.title": "Members overview",
        "overview.published_at": "Data published: {when}",
        "overview.as_of": "events up to {day}",
        "overview.no_warehouse": (
            "No warehouse has been published yet. Run `clubcrm pipeline run` (it loads the data "
            "and publishes it), then refresh this page."
        ),
        "overview.load_failed": "Could not read the warehouse: {error}",
        "kpi.total_members": "Total members",
        "kpi.active_members": "Active members",
        "kpi.purchases": "Purchases",
        "kpi.revenue": "Revenue",
        "kpi.points_outstanding": "Points outstanding",
        "kpi.open_complaints": "Open complaints",
        "kpi.help.total_members": "Every member, including pending exits and archived members",
        "kpi.help.revenue": "Sum of all purchase amounts (returns count negative)",
        "kpi.help.points_outstanding": "Sum of members' current point balances (liability)",
        "kpi.help.open_complaints": "Complaints pending or in progress",
        "chart.joins_by_month": "Members joined per month, by tier",
        "chart.by_region": "Members by region and tier",
        "chart.month": "Month joined",
        "chart.members": "Members",
        "chart.active_members": "Active members",
        "chart.region": "Region",
        "chart.tier": "Tier",
        "chart.no_data": "No data yet.",
        "chart.unknown_region": "Unknown",
        "members.title": "Find a member",
        "members.query": "Member no., card no., mobile (or its last 4 digits), name or ID number",
        "members.search": "Search",
        "members.include_archived": "Include archived members",
        "members.hint": (
            "Type a member number, a card number, a mobile (spaces, dashes and +86 are fine, or "
            "just its last four digits), part of a name or an ID number, then press Search."
        ),
        "members.no_match": "No member matches “{query}”.",
        "members.found": "{count} members found.",
        "members.more": "Showing the first {count} results only; narrow the search.",
        "members.pick": "Show member",
        "members.db_unavailable": (
            "Cannot open the operational database: {error}. If it is new, run `clubcrm init`."
        ),
        "col.member_no": "Member no.",
        "col.name": "Name",
        "col.tier": "Tier",
        "col.status": "Status",
        "col.region": "Region",
        "col.joined_at": "Joined",
        "col.mobile": "Mobile",
        "col.main_card": "Main card",
        "col.matched_on": "Matched on",
        "col.card_no": "Card no.",
        "col.kind": "Kind",
        "col.card_type": "Card type",
        "col.issued_at": "Issued",
        "col.expires_on": "Expires",
        "col.ended_at": "Ended",
        "col.parent_card": "Main card",
        "col.purchase_no": "Purchase no.",
        "col.purchased_at": "Purchased",
        "col.product": "Product",
        "col.amount": "Amount",
        "col.paid_amount": "Paid",
        "col.purchase_type": "Type",
        "col.salesperson": "Salesperson",
        "col.points": "Points",
        "col.event_type": "Event",
        "col.created_at": "Created",
        "col.posted_at": "Posted",
        "col.reason": "Reason",
        "col.changed_at": "Changed",
        "col.changed_by": "By",
        "col.field": "Field",
        "col.value": "Value",
        "col.old_value": "Old value",
        "col.new_value": "New value",
        "detail.profile": "Profile",
        "detail.gender": "Gender",
        "detail.birthday": "Birthday",
        "detail.id_number": "ID number",
        "detail.home_phone": "Home phone",
        "detail.email": "Email",
        "detail.address": "Address",
        "detail.channel": "Joined via",
        "detail.incomplete": "Incomplete record (legacy import)",
        "detail.points_balance": "Points balance",
        "detail.points_pending": "Points pending approval",
        "detail.open_complaints": "Open complaints",
        "detail.cards": "Cards",
        "detail.purchases": "Recent purchases",
        "detail.points": "Recent point entries",
        "detail.history": "Profile changes",
        "detail.none": "Nothing recorded.",
        "matched.member_no": "Member no.",
        "matched.card_no": "Card no.",
        "matched.id_number": "ID number",
        "matched.mobile": "Mobile",
        "matched.member_no_prefix": "Member no. prefix",
        "matched.mobile_last4": "Mobile last 4",
        "matched.name": "Name",
        "status.active": "Active",
        "status.exit_pending": "Exit pending",
        "status.archived": "Archived",
        "card_status.active": "Active",
        "card_status.replaced": "Replaced",
        "card_status.lost": "Lost",
        "card_status.cancelled": "Cancelled",
        "card_status.expired": "Expired",
        "kind.main": "Main",
        "kind.sub": "Sub-card",
        "gender.M": "Male",
        "gender.F": "Female",
        "point_status.pending": "Pending",
        "point_status.posted": "Posted",
        "point_status.rejected": "Rejected",
        "purchase_type.new": "New",
        "purchase_type.additional": "Additional",
        "purchase_type.return": "Return",
        "event.purchase": "Purchase",
        "event.activity": "Activity",
        "event.care": "Care",
        "event.complaint": "Complaint",
        "event.redemption": "Redemption",
        "event.swipe": "Card swipe",
        "event.manual": "Manual",
        "event.expiry": "Expiry",
        "event.reversal": "Reversal",
        "event.opening": "Opening balance",
    },
}


def _merge_catalogs() -> None:
    from dashboards import catalogs

    for catalog in catalogs.load():
        for locale, labels in catalog.items():
            clash = STRINGS[locale].keys() & labels.keys()
            if clash:
                raise RuntimeError(f"labels defined twice: {sorted(clash)}")
            STRINGS[locale].update(labels)


_merge_catalogs()

# Dictionary labels (regions, tiers, card types, channels…) as shipped by `clubcrm init`.
_DICTIONARY_LABELS: dict[tuple[str, str], tuple[str, str]] = {
    (item[0], item[1]): (item[2], item[3]) for item in DEFAULT_ITEMS
}


def normalize_locale(value: str | None) -> str:
    """'en', 'en_US', 'en-GB' -> 'en_US'; anything else -> 'zh_CN'."""
    if value and value.strip().lower().startswith("en"):
        return "en_US"
    return DEFAULT_LOCALE


def translate(key: str, locale: str, **values: object) -> str:
    """The label for ``key`` in ``locale`` (falling back to Chinese, then to the key itself)."""
    text = STRINGS.get(locale, {}).get(key) or STRINGS[DEFAULT_LOCALE].get(key) or key
    return text.format(**values) if values else text


def dictionary_label(category: str, code: str | None, locale: str) -> str:
    """The label of a dictionary code (e.g. region '11' -> 北京 / Beijing); the code if unknown.

    Labels come from the operational DB (as the admin edited them, inactive items included),
    read at most once per :data:`DICTIONARY_TTL_SECONDS` per process and database, or sooner
    after :func:`invalidate_dictionary_labels`; without a reachable DB, the shipped defaults.
    """
    if code is None:
        return ""
    labels = _dictionary_labels().get((category, str(code)))
    if labels is None:
        return str(code)
    return labels[1] if locale == "en_US" else labels[0]


#: How long a process reuses the dictionary labels it read (edits in another process show after).
DICTIONARY_TTL_SECONDS = 30.0
_LABEL_CACHE: dict[str, tuple[float, dict[tuple[str, str], tuple[str, str]]]] = {}
_LABEL_LOCK = threading.Lock()


def invalidate_dictionary_labels() -> None:
    """Forget the cached labels (the dictionary page calls this after each write)."""
    with _LABEL_LOCK:
        _LABEL_CACHE.clear()


def _dictionary_labels() -> dict[tuple[str, str], tuple[str, str]]:
    """Defaults overlaid with the DB's labels, cached per database URL for a short while."""
    try:
        from clubcrm.settings import get_settings

        url = get_settings().database_url
    except Exception:  # noqa: BLE001 - bad settings must not break a label
        return _DICTIONARY_LABELS
    now = time.monotonic()
    cached = _LABEL_CACHE.get(url)
    if cached is not None and now - cached[0] < DICTIONARY_TTL_SECONDS:
        return cached[1]
    with _LABEL_LOCK:
        cached = _LABEL_CACHE.get(url)
        if cached is not None and now - cached[0] < DICTIONARY_TTL_SECONDS:
            return cached[1]
        labels = dict(_DICTIONARY_LABELS)
        labels.update(_labels_in_db(url))
        _LABEL_CACHE[url] = (now, labels)
        return labels


def _labels_in_db(url: str) -> dict[tuple[str, str], tuple[str, str]]:
    """The DB's labels; empty when there is no DB yet (a SQLite file is never created here)
    or it cannot be read (then the defaults serve until the next try)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            database = parsed.database
            if not database or database == ":memory:" or not Path(database).is_file():
                return {}
        from sqlalchemy.orm import Session

        from operational.services.dictionary import all_labels

        with Session(_label_engine(url)) as session:
            return all_labels(session)
    except (SQLAlchemyError, OSError, ValueError):
        return {}


@lru_cache(maxsize=4)
def _label_engine(url: str):
    """The shared engine for SQLite; for a server, one that gives up connecting after 3 s, so
    an unreachable database slows a page by seconds (then the defaults serve), never minutes."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from operational.db import engine_for

    if make_url(url).get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 3})
    return engine_for(url)


def format_int(value: int | float | Decimal | None) -> str:
    """1234567 -> '1,234,567' (thousands separators in both locales)."""
    return "–" if value is None else f"{int(round(value)):,}"


def format_money(value: int | float | Decimal | None) -> str:
    """Yuan with thousands separators and cents: '¥1,234,567.50'."""
    if value is None:
        return "–"
    amount = Decimal(str(value)).quantize(Decimal("0.01"))
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"


def format_date(value: date | datetime | None) -> str:
    """ISO date; a timestamp is first converted to the club's local time."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _local(value).date().isoformat()
    return value.isoformat()


def format_datetime(value: datetime | None) -> str:
    """ISO date and minutes in the club's local time: '2025-03-01 20:00'."""
    if value is None:
        return ""
    return _local(value).strftime("%Y-%m-%d %H:%M")


def _local(value: datetime) -> datetime:
    return value.astimezone(DISPLAY_TIMEZONE) if value.tzinfo else value


# -- Streamlit side ---------------------------------------------------------------------------
def current_locale() -> str:
    """The locale picked in the sidebar, else CLUBCRM_LOCALE (settings), else Chinese."""
    import streamlit as st

    chosen = st.session_state.get(LOCALE_STATE_KEY)
    if chosen in LOCALES:
        return chosen
    from clubcrm.settings import get_settings

    return normalize_locale(get_settings().locale)


def t(key: str, **values: object) -> str:
    """Translate ``key`` for the current Streamlit session."""
    return translate(key, current_locale(), **values)
