"""Labels: errors (see dashboards/catalogs/__init__.py).

``problem.<code>`` renders a ServiceError/Problem of the services with its ``params``
(dashboards/feedback.py falls back to the service's English message when a label names a param
the error lacks); ``field.<name>`` names the field a problem concerns.
"""

STRINGS: dict[str, dict[str, str]] = {
    "zh_CN": {
        # fields
        "field.name": "姓名",
        "field.id_number": "身份证号",
        "field.mobile": "手机",
        "field.home_phone": "家庭电话",
        "field.email": "电子邮件",
        "field.address": "地址",
        "field.region": "地区",
        "field.gender": "性别",
        "field.birthday": "生日",
        "field.consent_channels": "联系许可",
        "field.channel": "入会渠道",
        "field.source": "来源",
        "field.requested_tier": "申请等级",
        "field.reason": "原因",
        "field.member_no": "会员号",
        "field.merge_application_ids": "合并的申请",
        "field.card_type": "卡类型",
        "field.card_no": "卡号",
        "field.method": "通知方式",
        "field.notify_method": "通知方式",
        "field.new_tier": "新等级",
        "field.joined_at": "入会日期",
        "field.tier": "等级",
        "field.opening_points": "期初积分",
        "field.industry": "行业",
        # validation
        "problem.required": "必填，请填写。",
        "problem.unknown_code": "“{value}”不是有效选项，请从以下选择：{choices}",
        "problem.too_long": "共 {length} 个字符，太长了，最多 {max} 个，请缩短。",
        "problem.mobile_format": (
            "“{value}”不是手机号：大陆手机号是以 1 开头的 11 位数字（可带 +86 和空格），"
            "这里有 {digits} 位数字，请核对。"
        ),
        "problem.phone_format": (
            "“{value}”不是有效的电话号码：请写区号、横线和 7-8 位号码，如 010-62345678"
            "（手机号请填在“手机”栏）。"
        ),
        "problem.email_format": "“{value}”不是有效的电子邮件地址，请核对或留空。",
        "problem.gender_format": "“{value}”不是性别，请填 男 或 女（M/F）。",
        "problem.birthday_format": "“{value}”不是有效日期，请按 YYYY-MM-DD 填写，如 1985-11-20。",
        "problem.gender_mismatch": (
            "性别 {given} 与身份证号不符（身份证显示 {from_id}），请更正性别或身份证号，或留空性别。"
        ),
        "problem.birthday_mismatch": (
            "生日 {given} 与身份证号不符（身份证显示 {from_id}），请更正生日或身份证号，或留空生日。"
        ),
        "problem.id_or_mobile_required": "身份证号和手机至少填写一项。",
        "problem.id_length": "身份证号应为 18 位，这里是 {length} 位，请对照身份证核对。",
        "problem.id_format": (
            "第 {position} 位是“{character}”，只能是数字（第 18 位可以是 X），请对照身份证核对。"
        ),
        "problem.id_region": "地区码 {region_code} 的前两位 {province_code} 不是省份代码，请核对前两位。",
        "problem.id_birth_date": "出生日期 {birth_date}（第 7-14 位）无效，请核对出生日期数字。",
        "problem.id_check_digit": (
            "校验位是 {actual}，应为 {expected}，请核对最后一位及前面的数字。"
        ),
        "problem.id_invalid": "身份证号无效，请对照身份证核对。",
        "problem.invalid": "输入有误，请核对。",
        # refusals
        "problem.not_allowed": "您的角色（{role}）无权执行此操作。",
        "problem.not_found": "没有找到该记录，请刷新后重试。",
        "problem.conflict": "记录已被他人修改，请刷新后重试。",
        "problem.already_decided": "该申请已由 {decided_by} 处理，请刷新审核列表。",
        "problem.changed": "该申请在您打开后已被修改（当前版本 {version}），请刷新后重新审核。",
        "problem.member_archived": "会员 {member_no} 已归档，请先恢复该会员。",
        "problem.id_number_taken": "该身份证号属于会员 {member_no}，请选择该会员进行合并，不要新建。",
        "problem.purchase_not_found": "没有找到该成交记录。",
        "problem.no_consent": "会员 {member_no} 已撤回以“{method}”方式联系的许可，请选择其他通知方式。",
        "problem.main_card_exists": "会员 {member_no} 已有有效主卡 {card_no}，请换卡，不要再发一张。",
        "problem.card_type_not_tier": (
            "会员 {member_no} 的等级是 {tier}，主卡必须是同等级的卡；请发 {tier} 卡，或先调整等级。"
        ),
        "problem.member_not_found": "没有找到该会员号，请核对，或按姓名、手机查询。",
        "problem.card_not_found": "没有找到该卡号，请核对卡上的号码。",
        "problem.card_not_active": "卡 {card_no} 当前状态为 {status}，无法操作，请使用会员的有效卡。",
        "problem.no_main_card": "会员 {member_no} 没有有效主卡，副卡只能挂在主卡下，请先发主卡。",
        "problem.sub_card_exists": "会员 {member_no} 已有同类有效副卡 {card_no}。",
        "problem.sub_card_not_replaceable": "卡 {card_no} 是副卡，副卡不能换卡：请挂失（即注销）后重新发卡。",
        "problem.same_tier": "会员 {member_no} 已是该等级，请选择其他等级。",
        "problem.listed_twice": "重复列出，只发一次。",
        "problem.stale": "会员 {member_no} 在您打开后已被修改，请刷新后重新编辑。",
        "problem.archived": "会员 {member_no} 已归档，请先恢复该会员。",
        "problem.exit_pending": "会员 {member_no} 已有待审核的退会申请，请处理该申请。",
        "problem.already_reviewed": "该退会申请已由 {reviewed_by} 处理，请刷新列表。",
        "problem.not_archived": "会员 {member_no} 未归档，无需恢复。",
        "problem.already_notified": "该通知已送达会员，无需补发。",
        # import files
        "problem.import_file": "文件无法导入，请检查文件。",
        "problem.file_not_found": "找不到文件。",
        "problem.unsupported_format": "只能导入 CSV（.csv）或 Excel（.xlsx）文件；旧版 .xls 请另存为 .xlsx。",
        "problem.encoding": "文件既不是 UTF-8 也不是 GBK 编码，请在 Excel 中另存为“CSV UTF-8”。",
        "problem.missing_column": "缺少必需的列（{field}），请添加该列或修正表头后重新导入。",
        "problem.ambiguous_column": "有两列都表示 {field}，请只保留一列后重新导入。",
        "problem.empty_file": "文件是空的，没有可导入的行。",
        "problem.unreadable_file": "文件无法读取，请确认是有效的 CSV 或 .xlsx 文件。",
    },
    "en_US": {
        "field.name": "Name",
        "field.id_number": "ID number",
        "field.mobile": "Mobile",
        "field.home_phone": "Home phone",
        "field.email": "E-mail",
        "field.address": "Address",
        "field.region": "Region",
        "field.gender": "Gender",
        "field.birthday": "Birthday",
        "field.consent_channels": "Consent",
        "field.channel": "Channel",
        "field.source": "Source",
        "field.requested_tier": "Requested tier",
        "field.reason": "Reason",
        "field.member_no": "Member no.",
        "field.merge_application_ids": "Applications to merge",
        "field.card_type": "Card type",
        "field.card_no": "Card no.",
        "field.method": "Notification method",
        "field.notify_method": "Notification method",
        "field.new_tier": "New tier",
        "field.joined_at": "Join date",
        "field.tier": "Tier",
        "field.opening_points": "Opening points",
        "field.industry": "Industry",
        "problem.required": "Required — fill it in.",
        "problem.unknown_code": "“{value}” is not a valid choice; choose one of: {choices}",
        "problem.too_long": "{length} characters is too long; at most {max} fit — shorten it.",
        "problem.mobile_format": (
            "“{value}” is not a mobile number: a mainland mobile has 11 digits starting with 1 "
            "(+86 and spaces allowed); this has {digits} digit(s) — re-check it."
        ),
        "problem.phone_format": (
            "“{value}” is not a phone number: write an area code, a dash and the 7-8 digit number, "
            "e.g. 010-62345678 (a mobile goes in the Mobile field)."
        ),
        "problem.email_format": "“{value}” is not an e-mail address — re-check it or leave it blank.",
        "problem.gender_format": "“{value}” is not a gender — use M or F.",
        "problem.birthday_format": "“{value}” is not a valid date — write YYYY-MM-DD, e.g. 1985-11-20.",
        "problem.gender_mismatch": (
            "gender {given} does not match the ID number, which says {from_id} — correct one of "
            "them or leave the gender blank."
        ),
        "problem.birthday_mismatch": (
            "birthday {given} does not match the ID number, which says {from_id} — correct one of "
            "them or leave the birthday blank."
        ),
        "problem.id_or_mobile_required": "Fill in at least one of the ID number and the mobile.",
        "problem.id_length": (
            "an ID number has 18 characters, this one has {length} — re-check it on the ID card."
        ),
        "problem.id_format": (
            "character {position} is “{character}”; it must be a digit (or X as the 18th) — "
            "re-check it on the ID card."
        ),
        "problem.id_region": (
            "region code {region_code} starts with {province_code}, which is not a province — "
            "re-check the first two digits."
        ),
        "problem.id_birth_date": (
            "{birth_date} (characters 7-14) is not a valid birth date — re-check those digits."
        ),
        "problem.id_check_digit": (
            "check digit is {actual}, expected {expected} — re-check the last character and the "
            "digits before it."
        ),
        "problem.id_invalid": "Not a valid ID number — re-check it on the ID card.",
        "problem.invalid": "Some input is wrong — re-check it.",
        "problem.not_allowed": "Your role ({role}) may not do this.",
        "problem.not_found": "Record not found — reload and try again.",
        "problem.conflict": "Someone else changed this record — reload and try again.",
        "problem.already_decided": "This application was already decided by {decided_by}; reload the queue.",
        "problem.changed": (
            "The application changed since you opened it (now version {version}); reload it and "
            "decide again."
        ),
        "problem.member_archived": "Member {member_no} is archived; restore the member first.",
        "problem.id_number_taken": (
            "The ID number belongs to member {member_no}; choose that member to merge into instead."
        ),
        "problem.purchase_not_found": "Purchase not found.",
        "problem.no_consent": (
            "Member {member_no} withdrew consent to be contacted by {method}; choose another method."
        ),
        "problem.main_card_exists": (
            "Member {member_no} already has active main card {card_no}; replace it instead."
        ),
        "problem.card_type_not_tier": (
            "Member {member_no} is tier {tier}; the main card must match — issue a {tier} card or "
            "change the tier first."
        ),
        "problem.member_not_found": "No such member number — check it, or search by name or mobile.",
        "problem.card_not_found": "No such card number — check the number on the card.",
        "problem.card_not_active": "Card {card_no} is {status}; use the member's active card.",
        "problem.no_main_card": (
            "Member {member_no} has no active main card; issue the main card before sub-cards."
        ),
        "problem.sub_card_exists": "Member {member_no} already has an active card {card_no} of that type.",
        "problem.sub_card_not_replaceable": (
            "Card {card_no} is a sub-card and cannot be replaced; report it lost and issue a new one."
        ),
        "problem.same_tier": "Member {member_no} already has that tier; choose another.",
        "problem.listed_twice": "Listed more than once — issued only once.",
        "problem.stale": "Member {member_no} was changed after you opened it; reload and edit again.",
        "problem.archived": "Member {member_no} is archived; restore the member first.",
        "problem.exit_pending": "Member {member_no} already has an exit request waiting for review.",
        "problem.already_reviewed": "This exit request was already decided by {reviewed_by}; reload.",
        "problem.not_archived": "Member {member_no} is not archived; nothing to restore.",
        "problem.already_notified": "This notice already reached the member; nothing to retry.",
        "problem.import_file": "The file cannot be imported — check it.",
        "problem.file_not_found": "File not found.",
        "problem.unsupported_format": (
            "Only CSV (.csv) and Excel (.xlsx) files can be imported; save an old .xls as .xlsx."
        ),
        "problem.encoding": "The file is neither UTF-8 nor GBK; save it again as 'CSV UTF-8'.",
        "problem.missing_column": (
            "A required column ({field}) is missing; add it (or fix its heading) and import again."
        ),
        "problem.ambiguous_column": "Two columns both mean {field}; keep one and import again.",
        "problem.empty_file": "The file is empty: no rows to import.",
        "problem.unreadable_file": "The file cannot be read; is it a valid CSV or .xlsx file?",
    },
}
