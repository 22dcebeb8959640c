"""Labels: purchases — the purchases page, and reversing an entry on the points page (see
__init__.py).

The pages render a refusal's code ``X`` with ``purchases.problem.X`` (or
``points.reverse.problem.X``) when defined here, else with the shared ``problem.X``; field names
with ``purchases.field.<name>``, else the shared ``field.<name>``.
"""

STRINGS: dict[str, dict[str, str]] = {
    "zh_CN": {
        "purchases.title": "销售成交",
        "purchases.tab.find": "查询成交",
        "purchases.tab.record": "录入成交",
        "purchases.tab.pay": "登记付款",
        "purchases.tab.update": "修改成交",
        "purchases.colon": "：",
        "purchases.all": "全部",
        "purchases.yes": "是",
        "purchases.no": "否",
        "purchases.since": "成交日期从",
        "purchases.until": "成交日期至",
        "purchases.unpaid_only": "只看未付清",
        "purchases.search": "查询",
        "purchases.hint": "输入任一条件（会员号或卡号、成交单号、产品、销售员、日期）后点击“查询”；全部留空则列出最近的成交。",
        "purchases.no_match": "没有符合条件的成交记录。",
        "purchases.found": "找到 {count} 笔成交。",
        "purchases.more": "只显示最近 {count} 笔，请缩小查询条件。",
        "purchases.pick": "查看成交",
        "purchases.non_member": "（非会员）",
        "purchases.overdue": "（已逾期）",
        "purchases.col.buyer": "客户",
        "purchases.col.arrears": "欠款",
        "purchases.col.paid_ratio": "到账率",
        "purchases.col.due_on": "欠款到期日",
        "purchases.col.channel": "销售渠道",
        "purchases.col.paid_at": "付款时间",
        "purchases.chart.title": "该会员每月成交金额与已付金额",
        "purchases.chart.month": "月份",
        "purchases.chart.yuan": "金额（元）",
        "purchases.detail.title": "成交 {purchase_no}",
        "purchases.detail.non_member": "非会员 {name} {mobile}（自动入会申请：{application}）",
        "purchases.detail.fully_paid_at": "付清时间",
        "purchases.detail.created": "录入",
        "purchases.detail.returns": "退货对应的原成交",
        "purchases.detail.payments": "付款记录",
        "purchases.detail.no_payments": "还没有登记付款。",
        "purchases.detail.points": "成交积分",
        "purchases.detail.points_entry": (
            "积分 {points}（{status}，入账 {posted_at}，有效期至 {expires_on}，积分记录 #{entry}）"
        ),
        "purchases.detail.points_reversed": (
            "该笔积分已冲正：收回 {taken} 积分，{shortfall} 积分已被使用、无法收回。"
        ),
        "purchases.detail.return_earns_nothing": "退货不产生积分；退货会冲正原成交的积分。",
        "purchases.detail.non_member_points": (
            "非会员的成交暂不积分；客户入会（申请获批）后，付清的成交将获得 {points} 积分。"
        ),
        "purchases.detail.too_small": "金额不足 100 元，不产生积分。",
        "purchases.detail.points_when_paid": "全部付清（到账率 100%）后将获得 {points} 积分。",
        "purchases.detail.returned_by": "针对该成交的退货",
        "purchases.field.purchase_no": "成交单号",
        "purchases.field.member_or_card": "会员号或卡号",
        "purchases.field.member_no": "会员号或卡号",
        "purchases.field.customer_name": "非会员客户姓名",
        "purchases.field.customer_mobile": "非会员客户手机",
        "purchases.field.customer_id_number": "非会员客户身份证号",
        "purchases.field.product": "产品",
        "purchases.field.quantity": "数量",
        "purchases.field.amount": "成交金额（元）",
        "purchases.field.discount": "折扣金额（元）",
        "purchases.field.paid_amount": "已付金额（元）",
        "purchases.field.region": "省份/地区",
        "purchases.field.channel": "销售渠道",
        "purchases.field.salesperson": "销售员",
        "purchases.field.regional_manager": "区域经理",
        "purchases.field.dealer": "经销商",
        "purchases.field.purchase_type": "成交类型",
        "purchases.field.returns_purchase_no": "退货：原成交单号",
        "purchases.field.purchased_on": "成交日期",
        "purchases.field.purchased_time": "成交时间",
        "purchases.field.purchased_at": "成交时间",
        "purchases.field.due_on": "欠款到期日",
        "purchases.field.invoice_no": "发票号",
        "purchases.field.invoice": "发票号",
        "purchases.field.cross_group": "跨集团成交",
        "purchases.field.payment": "本次付款金额（元）",
        "purchases.field.paid_on": "付款日期",
        "purchases.field.paid_time": "付款时间",
        "purchases.field.paid_at": "付款时间",
        "purchases.field.method": "付款方式",
        "purchases.field.purchase": "成交单号",
        "purchases.field.idempotency_key": "提交编号",
        "purchases.amount_help": "折后总额。退货请填负数（如 -300000）。",
        "purchases.record.help": (
            "会员的成交请填会员号或卡号；非会员请留空并填写客户姓名、手机、身份证号，系统会自动"
            "生成入会申请。成交全部付清（到账率 100%）时才给会员积分；退货须填写原成交单号，"
            "并冲正原成交的积分。"
        ),
        "purchases.record.submit": "录入成交",
        "purchases.record.already": "成交单号 {purchase_no} 已经录入过，没有重复记录。",
        "purchases.record.done_member": "已录入成交 {purchase_no}（会员 {member_no}）。",
        "purchases.record.done_application": (
            "已录入成交 {purchase_no}（非会员），已自动生成入会申请 {application}，等待审核。"
        ),
        "purchases.points_posted": "已入账积分：{points}。",
        "purchases.return.no_points": "原成交 {purchase_no} 没有已入账的积分，无需冲正。",
        "purchases.return.reversed": "已冲正原成交 {purchase_no} 的积分：收回 {taken} 积分。",
        "purchases.return.reversed_shortfall": (
            "已冲正原成交 {purchase_no} 的积分：收回 {taken} 积分；另有 {shortfall} 积分会员已使用，"
            "余额不能为负，不再追回。"
        ),
        "purchases.pay.help": (
            "每笔分期付款登记一次。付清（到账率 100%）的那笔付款会给会员入账成交积分，且只入账一次。"
        ),
        "purchases.pay.submit": "登记付款",
        "purchases.pay.new": "新付款",
        "purchases.pay.already": (
            "这笔付款刚才已经登记过，没有重复记录。如确有一笔相同的付款，请点“新付款”后再提交。"
        ),
        "purchases.pay.done": (
            "已登记付款：成交 {purchase_no} 已付 {paid} / {amount}，尚欠 {due}。"
        ),
        "purchases.pay.paid_non_member": "已全部付清；客户还不是会员，入会后再给积分。",
        "purchases.pay.paid_no_points": "已全部付清；该成交不产生积分（金额不足或已退货）。",
        "purchases.update.load": "调出成交",
        "purchases.update.editing": "修改成交 {purchase_no}",
        "purchases.update.money_locked": (
            "该成交已全部付清并已按金额入账积分，金额、数量、折扣不能再改；如需更正请录入退货。"
        ),
        "purchases.update.submit": "保存修改",
        "purchases.update.nothing": "没有修改任何内容。",
        "purchases.update.done": "已保存成交 {purchase_no} 的修改：{fields}。",
        # refusals of the purchases services (rendered by the purchases page)
        "purchases.problem.money_format": "“{value}”不是有效金额：请填写数字，最多两位小数，如 1250000 或 1,250,000.50。",
        "purchases.problem.datetime_format": "“{value}”不是有效的日期时间，请按 2026-03-01 14:30 填写。",
        "purchases.problem.naive_time": "请填写带时区的时间。",
        "purchases.problem.date_format": "“{value}”不是有效日期，请按 2026-06-30 填写。",
        "purchases.problem.flag_format": "“{value}”不是“是/否”。",
        "purchases.problem.quantity_format": "数量必须是至少为 1 的整数。",
        "purchases.problem.negative": "不能是负数。",
        "purchases.problem.not_positive": "付款金额必须大于 0。",
        "purchases.problem.not_a_return": "只有退货才填写原成交单号；请把成交类型改为“退货”，或清空原成交单号。",
        "purchases.problem.return_needs_original": "退货必须填写原成交单号。",
        "purchases.problem.not_the_buyer": "原成交不是这位会员买的，请核对会员号或原成交单号。",
        "purchases.problem.purchase_not_found": "没有成交单号为“{value}”的成交，请核对单号（退货的原成交不能是退货）。",
        "purchases.problem.member_not_found": "没有会员号或卡号为“{value}”的会员；非会员请留空并填写客户姓名。",
        "purchases.problem.member_or_card_not_found": "没有会员号或卡号为“{value}”的会员，请核对号码。",
        "purchases.problem.overpayment": "该成交尚欠 {due} 元，本次付款超过了欠款，请核对金额。",
        "purchases.problem.return_not_payable": "这是一笔退货，退货不登记付款。",
        "purchases.problem.money_locked": "该成交已全部付清并已入账积分，金额、数量、折扣不能再改；如需更正请录入退货。",
        "purchases.problem.use_add_payment": "已付金额请通过“登记付款”修改。",
        "purchases.problem.unknown_field": "该项不能修改。",
        # -- reversing an entry on the points page
        "points.reverse.title": "冲正一笔积分",
        "points.reverse.help": (
            "冲正规则：冲正扣减（兑付、过期）会把积分退还给会员；冲正一笔奖励会收回该笔积分，"
            "但最多收回会员当前的余额——已被使用、无法收回的部分记为“差额”，不会以后再扣，"
            "余额永远不会为负。每笔积分只能冲正一次。"
        ),
        "points.reverse.pick": "要冲正的积分记录",
        "points.reverse.entry": "#{id} · {created_at} · {event} · {points} 积分",
        "points.reverse.none": "该会员没有可冲正的积分记录（只能冲正已入账、尚未冲正的记录）。",
        "points.reverse.reason": "冲正原因",
        "points.reverse.submit": "冲正",
        "points.reverse.gave_back": "已冲正记录 #{entry}：退还会员 {member_no} {points} 积分，当前余额 {balance}。",
        "points.reverse.took_back": "已冲正记录 #{entry}：收回会员 {member_no} {points} 积分，当前余额 {balance}。",
        "points.reverse.shortfall": (
            "已冲正记录 #{entry}：收回会员 {member_no} {points} 积分；另有 {shortfall} 积分已被使用，"
            "无法收回（余额不能为负，差额不再追扣）。当前余额 {balance}。"
        ),
        "points.reverse.nothing": (
            "已冲正记录 #{entry}：会员 {member_no} 当前余额为 0，收不回任何积分；全部 {shortfall} "
            "积分记为差额，不再追扣。该记录已算作冲正，不能再冲正。"
        ),
        "points.reverse.already": "记录 #{entry} 之前已经冲正过，没有重复冲正。",
        "points.reverse.problem.not_posted": "该记录不是已入账状态，不能冲正；待审批的积分请在“积分审批”中驳回。",
        "points.reverse.problem.not_reversible": "该记录本身就是冲正记录，不能再冲正。",
    },
    "en_US": {
        "purchases.title": "Purchases",
        "purchases.tab.find": "Find purchases",
        "purchases.tab.record": "Record a purchase",
        "purchases.tab.pay": "Add a payment",
        "purchases.tab.update": "Change a purchase",
        "purchases.colon": ": ",
        "purchases.all": "All",
        "purchases.yes": "Yes",
        "purchases.no": "No",
        "purchases.since": "Purchased from",
        "purchases.until": "Purchased until",
        "purchases.unpaid_only": "Not fully paid only",
        "purchases.search": "Search",
        "purchases.hint": (
            "Give any filter (member or card number, purchase number, product, salesperson, "
            "dates) and press Search; with no filter the latest purchases are listed."
        ),
        "purchases.no_match": "No purchase matches these filters.",
        "purchases.found": "{count} purchases found.",
        "purchases.more": "Showing the latest {count} only; narrow the search.",
        "purchases.pick": "Show purchase",
        "purchases.non_member": "(non-member)",
        "purchases.overdue": "(overdue)",
        "purchases.col.buyer": "Customer",
        "purchases.col.arrears": "Arrears",
        "purchases.col.paid_ratio": "Paid ratio",
        "purchases.col.due_on": "Due date",
        "purchases.col.channel": "Sales channel",
        "purchases.col.paid_at": "Paid at",
        "purchases.chart.title": "This member's purchase amount and paid amount by month",
        "purchases.chart.month": "Month",
        "purchases.chart.yuan": "Yuan",
        "purchases.detail.title": "Purchase {purchase_no}",
        "purchases.detail.non_member": (
            "Non-member {name} {mobile} (automatic application: {application})"
        ),
        "purchases.detail.fully_paid_at": "Fully paid",
        "purchases.detail.created": "Recorded",
        "purchases.detail.returns": "Returns purchase",
        "purchases.detail.payments": "Payments",
        "purchases.detail.no_payments": "No payments recorded yet.",
        "purchases.detail.points": "Purchase points",
        "purchases.detail.points_entry": (
            "{points} points ({status}, posted {posted_at}, expire {expires_on}, entry #{entry})"
        ),
        "purchases.detail.points_reversed": (
            "These points were reversed: {taken} taken back, {shortfall} already spent and not "
            "recovered."
        ),
        "purchases.detail.return_earns_nothing": (
            "A return earns no points; it reverses the original purchase's points."
        ),
        "purchases.detail.non_member_points": (
            "A non-member's purchase earns nothing yet; once the customer becomes a member "
            "(application approved), a fully paid purchase earns {points} points."
        ),
        "purchases.detail.too_small": "Less than 100 yuan: earns no points.",
        "purchases.detail.points_when_paid": "Earns {points} points once fully paid (100%).",
        "purchases.detail.returned_by": "Returns of this purchase",
        "purchases.field.purchase_no": "Purchase no.",
        "purchases.field.member_or_card": "Member or card number",
        "purchases.field.member_no": "Member or card number",
        "purchases.field.customer_name": "Non-member's name",
        "purchases.field.customer_mobile": "Non-member's mobile",
        "purchases.field.customer_id_number": "Non-member's ID number",
        "purchases.field.product": "Product",
        "purchases.field.quantity": "Quantity",
        "purchases.field.amount": "Amount (yuan)",
        "purchases.field.discount": "Discount (yuan)",
        "purchases.field.paid_amount": "Paid amount (yuan)",
        "purchases.field.region": "Province / region",
        "purchases.field.channel": "Sales channel",
        "purchases.field.salesperson": "Salesperson",
        "purchases.field.regional_manager": "Regional manager",
        "purchases.field.dealer": "Dealer",
        "purchases.field.purchase_type": "Purchase type",
        "purchases.field.returns_purchase_no": "Return of purchase no.",
        "purchases.field.purchased_on": "Purchase date",
        "purchases.field.purchased_time": "Purchase time",
        "purchases.field.purchased_at": "Purchased at",
        "purchases.field.due_on": "Arrears due date",
        "purchases.field.invoice_no": "Invoice no.",
        "purchases.field.invoice": "Invoice no.",
        "purchases.field.cross_group": "Cross-group sale",
        "purchases.field.payment": "Payment (yuan)",
        "purchases.field.paid_on": "Payment date",
        "purchases.field.paid_time": "Payment time",
        "purchases.field.paid_at": "Paid at",
        "purchases.field.method": "Payment method",
        "purchases.field.purchase": "Purchase no.",
        "purchases.field.idempotency_key": "Submission key",
        "purchases.amount_help": "Total after discount. For a return enter it negative (-300000).",
        "purchases.record.help": (
            "For a member give the member or card number; for a non-member leave it empty and "
            "give the customer's name, mobile and ID number: an application is raised "
            "automatically. Points are earned only once the purchase is fully paid (100%); a "
            "return names the original purchase and reverses its points."
        ),
        "purchases.record.submit": "Record purchase",
        "purchases.record.already": (
            "Purchase {purchase_no} was already recorded; nothing was recorded twice."
        ),
        "purchases.record.done_member": "Purchase {purchase_no} recorded (member {member_no}).",
        "purchases.record.done_application": (
            "Purchase {purchase_no} recorded (non-member); automatic application {application} "
            "raised, waiting for review."
        ),
        "purchases.points_posted": "Points posted: {points}.",
        "purchases.return.no_points": (
            "Purchase {purchase_no} had no posted points; nothing to reverse."
        ),
        "purchases.return.reversed": (
            "Points of purchase {purchase_no} reversed: {taken} points taken back."
        ),
        "purchases.return.reversed_shortfall": (
            "Points of purchase {purchase_no} reversed: {taken} points taken back; {shortfall} "
            "were already spent and are not recovered (a balance never goes negative)."
        ),
        "purchases.pay.help": (
            "Record each instalment once. The payment that completes the purchase (100% paid) "
            "posts the member's purchase points, once."
        ),
        "purchases.pay.submit": "Record payment",
        "purchases.pay.new": "New payment",
        "purchases.pay.already": (
            "This payment was already recorded just now and was not recorded twice. If there "
            "really is an identical payment, click “New payment” and submit again."
        ),
        "purchases.pay.done": (
            "Payment recorded: purchase {purchase_no} paid {paid} of {amount}, {due} still due."
        ),
        "purchases.pay.paid_non_member": (
            "Fully paid; the customer is not a member yet, points follow once they join."
        ),
        "purchases.pay.paid_no_points": (
            "Fully paid; this purchase earns no points (too small, or returned)."
        ),
        "purchases.update.load": "Open purchase",
        "purchases.update.editing": "Changing purchase {purchase_no}",
        "purchases.update.money_locked": (
            "This purchase is fully paid and its points were posted from its amount: amount, "
            "quantity and discount can no longer change — record a return instead."
        ),
        "purchases.update.submit": "Save changes",
        "purchases.update.nothing": "Nothing was changed.",
        "purchases.update.done": "Purchase {purchase_no} saved: {fields}.",
        "purchases.problem.money_format": (
            "“{value}” is not an amount: write a number with at most two decimals, e.g. 1250000 "
            "or 1,250,000.50."
        ),
        "purchases.problem.datetime_format": (
            "“{value}” is not a date and time; write it as 2026-03-01 14:30."
        ),
        "purchases.problem.naive_time": "Give the time with its time zone.",
        "purchases.problem.date_format": "“{value}” is not a date; write it as 2026-06-30.",
        "purchases.problem.flag_format": "“{value}” is not yes or no.",
        "purchases.problem.quantity_format": "The quantity is a whole number of at least 1.",
        "purchases.problem.negative": "It cannot be negative.",
        "purchases.problem.not_positive": "A payment is more than 0 yuan.",
        "purchases.problem.not_a_return": (
            "Only a return names an original purchase: set the type to Return, or clear the "
            "original purchase number."
        ),
        "purchases.problem.return_needs_original": (
            "A return needs the number of the purchase it returns."
        ),
        "purchases.problem.not_the_buyer": (
            "The original purchase was made by another member — check the member number or the "
            "original purchase number."
        ),
        "purchases.problem.purchase_not_found": (
            "No purchase has the number “{value}” — check the number (the original of a return "
            "cannot be a return itself)."
        ),
        "purchases.problem.member_not_found": (
            "No member or card has the number “{value}”; for a non-member leave it empty and give "
            "the customer's name."
        ),
        "purchases.problem.member_or_card_not_found": (
            "No member or card has the number “{value}” — check the number."
        ),
        "purchases.problem.overpayment": (
            "This purchase has {due} yuan still due; the payment is more than that — check the "
            "amount."
        ),
        "purchases.problem.return_not_payable": "This is a return; a return takes no payments.",
        "purchases.problem.money_locked": (
            "The purchase is fully paid and its points were posted: amount, quantity and "
            "discount can no longer change — record a return instead."
        ),
        "purchases.problem.use_add_payment": "Change the paid amount by adding a payment.",
        "purchases.problem.unknown_field": "This cannot be changed.",
        # -- reversing an entry on the points page
        "points.reverse.title": "Reverse an entry",
        "points.reverse.help": (
            "The rule: reversing a spending or an expiry gives the points back; reversing an "
            "award takes its points back, but never more than the member's balance — what was "
            "already spent is the shortfall, not charged later, so a balance never goes "
            "negative. Each entry can be reversed once."
        ),
        "points.reverse.pick": "Entry to reverse",
        "points.reverse.entry": "#{id} · {created_at} · {event} · {points} points",
        "points.reverse.none": (
            "This member has no entry to reverse (only posted entries not reversed yet)."
        ),
        "points.reverse.reason": "Reason for the reversal",
        "points.reverse.submit": "Reverse this entry",
        "points.reverse.gave_back": (
            "Entry #{entry} reversed: {points} points given back to member {member_no}; the "
            "balance is now {balance}."
        ),
        "points.reverse.took_back": (
            "Entry #{entry} reversed: {points} points taken back from member {member_no}; the "
            "balance is now {balance}."
        ),
        "points.reverse.shortfall": (
            "Entry #{entry} reversed: {points} points taken back from member {member_no}; "
            "shortfall {shortfall} points already spent, not recovered (the balance never goes "
            "negative; the shortfall is not charged later). The balance is now {balance}."
        ),
        "points.reverse.nothing": (
            "Entry #{entry} reversed: member {member_no} has a balance of 0, so nothing could be "
            "taken back; shortfall {shortfall} points, not charged later. The entry counts as "
            "reversed and cannot be reversed again."
        ),
        "points.reverse.already": "Entry #{entry} was already reversed; nothing was reversed twice.",
        "points.reverse.problem.not_posted": (
            "This entry is not posted and cannot be reversed; reject a pending entry on the "
            "Points approval page instead."
        ),
        "points.reverse.problem.not_reversible": (
            "This entry is itself a reversal and cannot be reversed."
        ),
    },
}
