"""The dictionary a new club starts with (DOMAIN.md "Dictionary"; seed 000).

Each entry: (category, code, Chinese label, English label[, parent code]). Admins edit these
later; ``clubcrm init`` only adds items that are missing, never overwrites an edited label.
"""

from __future__ import annotations

DEFAULT_ITEMS: list[tuple[str, str, str, str] | tuple[str, str, str, str, str]] = [
    # application channels and sources
    ("application_channel", "sales_site", "案场", "Sales site"),
    ("application_channel", "service_centre", "客服中心", "Service centre"),
    ("application_channel", "website", "外部网站", "Website"),
    ("application_channel", "purchase", "购买自动入会", "Automatic on purchase"),
    ("application_source", "magazine", "会刊", "Magazine", "service_centre"),
    ("application_source", "activity", "活动", "Activity", "service_centre"),
    ("application_source", "fair", "展会", "Fair", "service_centre"),
    ("application_source", "referral", "推荐", "Referral", "service_centre"),
    ("application_source", "sp", "SP", "SP", "service_centre"),
    ("application_source", "property", "物业", "Property management", "service_centre"),
    ("application_source", "merchant", "商家", "Merchant", "service_centre"),
    # exits
    ("exit_type", "normal", "正常退会", "Normal"),
    ("exit_type", "contact_invalid", "联系方式失效", "Contact invalid"),
    ("exit_type", "expired", "过期", "Expired"),
    ("exit_type", "data_error", "数据错误", "Data error"),
    # cards and tiers (tier == main card type)
    ("card_type", "ordinary", "普通卡", "Ordinary card", "main"),
    ("card_type", "vip", "VIP卡", "VIP card", "main"),
    ("card_type", "discount", "优惠卡", "Discount card", "sub"),
    ("card_type", "cobrand", "联名卡", "Co-branded card", "sub"),
    ("tier", "ordinary", "普通会员", "Ordinary"),
    ("tier", "vip", "VIP会员", "VIP"),
    # complaints
    ("complaint_channel", "written", "书面", "Written"),
    ("complaint_channel", "phone", "电话", "Phone"),
    ("complaint_channel", "email", "电子邮件", "E-mail"),
    ("complaint_channel", "visit", "来访", "Visit"),
    ("complaint_channel", "legal", "法律途径", "Legal"),
    ("complaint_channel", "website", "网站", "Website"),
    ("complaint_type", "sales_service", "销售服务", "Sales service"),
    ("complaint_type", "house_quality", "房屋质量", "House quality"),
    ("complaint_type", "property_management", "物业管理", "Property management"),
    ("complaint_type", "non_service", "非服务类", "Non-service"),
    # care
    ("care_channel", "sms", "短信", "SMS"),
    ("care_channel", "email", "电子邮件", "E-mail"),
    ("care_channel", "letter", "信函", "Letter"),
    ("care_channel", "magazine", "会刊", "Magazine"),
    ("care_channel", "website", "网站", "Website"),
    ("care_channel", "other", "其他", "Other"),
    # activities and merchants
    ("activity_type", "salon", "沙龙", "Salon"),
    ("activity_type", "party", "聚会", "Party"),
    ("activity_type", "on_site", "现场活动", "On-site"),
    ("activity_type", "other", "其他", "Other"),
    ("merchant_type", "dining", "餐饮", "Dining"),
    ("merchant_type", "retail", "零售", "Retail"),
    ("merchant_type", "leisure", "休闲娱乐", "Leisure"),
    ("merchant_type", "education", "教育", "Education"),
    ("merchant_type", "health", "健康医疗", "Health"),
    ("merchant_type", "auto", "汽车服务", "Auto services"),
    # notices
    ("notice_method", "sms", "短信", "SMS"),
    ("notice_method", "email", "电子邮件", "E-mail"),
    ("notice_method", "letter", "信函", "Letter"),
    ("notice_method", "phone", "电话", "Phone"),
    ("notice_method", "other", "其他", "Other"),
    # sales
    ("sales_channel", "store", "门店", "Store"),
    ("sales_channel", "sales_site", "案场", "Sales site"),
    ("sales_channel", "online", "线上", "Online"),
    ("sales_channel", "dealer", "经销商", "Dealer"),
    ("sales_channel", "phone", "电话", "Phone"),
    # regions (province-level; codes are the first two digits of the resident ID region code)
    ("region", "11", "北京", "Beijing"),
    ("region", "31", "上海", "Shanghai"),
    ("region", "44", "广东", "Guangdong"),
    ("region", "32", "江苏", "Jiangsu"),
    ("region", "33", "浙江", "Zhejiang"),
    ("region", "51", "四川", "Sichuan"),
    ("region", "42", "湖北", "Hubei"),
    ("region", "37", "山东", "Shandong"),
    ("region", "12", "天津", "Tianjin"),
    ("region", "50", "重庆", "Chongqing"),
    ("region", "61", "陕西", "Shaanxi"),
    ("region", "35", "福建", "Fujian"),
]


#: Complaint service levels a new club starts with: hours from receipt until a complaint is due.
DEFAULT_SERVICE_LEVELS: dict[str, int] = {"urgent": 24, "high": 72, "normal": 168, "low": 360}

#: Automatic points rules a new club starts with, as (event type, points, needs approval,
#: active, description). Rules for any event of the type (match code ""); admins add specific
#: ones (an activity type, a complaint type, a merchant code) on the points rules page.
DEFAULT_POINT_RULES: list[tuple[str, int, bool, bool, str]] = [
    ("activity", 50, True, True, "Attending an activity (the activity's own points win)"),
    ("complaint", 100, True, False, "Goodwill points when a complaint is closed"),
    ("care", 20, True, False, "Responding to a care contact"),
    ("swipe", 10, False, True, "A swipe at a points-award card reader"),
]
