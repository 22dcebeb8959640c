"""Labels: points — the points page, points approval, redemption (see __init__.py)."""

STRINGS: dict[str, dict[str, str]] = {
    "zh_CN": {
        "nav.points": "积分",
        "nav.points_approval": "积分审批",
        "nav.redemption": "积分兑付",
        # -- the points page
        "points.title": "积分",
        "points.tab.member": "会员积分",
        "points.tab.manual": "手工调整",
        "points.tab.batch": "批量调整",
        "points.lookup_no": "会员号或卡号",
        "points.find": "查询",
        "points.not_found": "没有找到会员号或卡号为“{number}”的会员。请核对号码。",
        "points.member": "会员：{member_no} · {name}",
        "points.balance": "积分余额",
        "points.history": "积分明细（最近 {count} 条）",
        "points.no_history": "该会员还没有积分记录。",
        "points.by": "按",
        "points.by.member": "会员号",
        "points.by.card": "卡号",
        "points.number": "号码",
        "points.amount": "积分（正数为增加，负数为扣减）",
        "points.reason": "调整原因",
        "points.manual.submit": "提交调整",
        "points.manual.help": (
            "单笔超过 {threshold} 积分（增或减）的调整需要另一位审核员批准后才入账。"
        ),
        "points.manual.posted": "已入账：会员 {member_no} {points} 积分，当前余额 {balance}。",
        "points.manual.pending": (
            "会员 {member_no} 的 {points} 积分调整超过 {threshold} 积分，已提交，等待审批"
            "（尚未入账）。"
        ),
        "points.manual.already": "这笔调整刚才已经提交过，没有重复记账。如需再调一次，请点“新调整”。",
        "points.manual.new": "新调整",
        "points.batch.cards": "卡号（每行一个，或用逗号分隔）",
        "points.batch.upload": "或上传卡号文件（.txt / .csv，每行一个卡号，取第一列）",
        "points.batch.submit": "批量调整",
        "points.batch.empty": "请输入或上传至少一个卡号。",
        "points.batch.progress": "正在处理 {done}/{total} 张卡……",
        "points.batch.summary": (
            "已入账 {posted} 张，等待审批 {pending} 张（其中 {already} 张此前已处理），未处理 {problems} 张。"
        ),
        "points.batch.problems": "未处理的卡（原因）",
        "points.col.remaining": "剩余",
        "points.col.approved_by": "审批人",
        "points.col.created_by": "经办人",
        # -- approval
        "approval.title": "积分审批",
        "approval.none": "没有等待审批的积分调整。",
        "approval.count": "{count} 笔等待审批（最早的在前）。",
        "approval.pick": "选择一笔",
        "approval.entry": "{member_no} · {name}：{points} 积分（{created_by}）",
        "approval.reject_reason": "驳回原因（驳回时必填）",
        "approval.approve": "批准入账",
        "approval.reject": "驳回",
        "approval.approved": "已批准：{entry}。",
        "approval.rejected": "已驳回：{entry}。",
        "approval.col.member": "会员",
        # -- redemption
        "redeem.title": "积分兑付",
        "redeem.plans": "当前兑付方案",
        "redeem.no_plans": "目前没有有效的兑付方案。",
        "redeem.col.code": "方案编号",
        "redeem.col.item": "兑换物品",
        "redeem.col.cost": "所需积分（每件）",
        "redeem.col.stock": "库存",
        "redeem.col.period": "有效期",
        "redeem.col.quantity": "数量",
        "redeem.col.count": "兑付次数",
        "redeem.col.redeemed_at": "兑付时间",
        "redeem.col.redeemed_by": "经办人",
        "redeem.open_end": "长期",
        "redeem.out_of_stock": "（无库存）",
        "redeem.form": "为会员兑付",
        "redeem.member_no": "会员号",
        "redeem.plan": "兑付方案",
        "redeem.quantity": "数量",
        "redeem.submit": "兑付",
        "redeem.member_required": "请输入会员号。",
        "redeem.done": (
            "已为会员 {member_no} 兑付 {quantity} × {item}，扣除 {points} 积分，余额 {balance}。"
        ),
        "redeem.already": "这笔兑付刚才已经提交过，没有重复扣分。如需再兑一次，请点“新兑付”。",
        "redeem.new": "新兑付",
        "redeem.history": "会员兑付记录",
        "redeem.history_submit": "查看记录",
        "redeem.history_balance": "会员 {member_no} 当前积分余额：{balance}",
        "redeem.no_history": "会员 {member_no} 还没有兑付记录。",
        "redeem.stats": "兑付统计",
        "redeem.stats_from": "开始日期",
        "redeem.stats_to": "结束日期",
        "redeem.no_stats": "该期间没有兑付。",
        "redeem.create": "新建兑付方案（审核员、管理员）",
        "redeem.create.code": "方案编号",
        "redeem.create.item": "兑换物品",
        "redeem.create.cost": "每件所需积分",
        "redeem.create.stock": "库存",
        "redeem.create.starts_on": "开始日期",
        "redeem.create.ends_on": "结束日期（留空为长期）",
        "redeem.create.visible": "在网站上显示",
        "redeem.create.submit": "创建方案",
        "redeem.create.done": "已创建兑付方案 {code}（{item}）。",
        # -- refusals of the points and redemption services
        "problem.same_person": "这笔调整是您本人录入的，不能由您本人审批，请另一位审核员审批。",
        "problem.not_pending": "这笔积分已处理（当前状态：{status}），只能审批等待中的积分。",
        "problem.insufficient_points": (
            "会员当前只有 {balance} 积分，不能扣减 {requested} 积分——余额不能小于零。"
        ),
        "problem.daily_cap": (
            "您今天已手工调整 {used} 积分，再调整将超过每日上限 {cap} 积分，请同事或主管办理。"
        ),
        "problem.invalid_points": "积分必须是不为零的整数。",
        "problem.reason_required": "请填写原因。",
        "problem.member_or_card": "请输入会员号或卡号（二选一）。",
        "problem.card_not_members": "该卡不是此会员的卡。",
        "problem.idempotency_key_reused": "这次提交的编号已用于另一笔操作，请刷新页面后重新提交。",
        "problem.invalid_idempotency_key": "提交编号无效，请刷新页面后重新提交。",
        "problem.plan_inactive": "该兑付方案已停用。",
        "problem.plan_not_started": "该兑付方案 {starts_on} 才开始。",
        "problem.plan_ended": "该兑付方案已于 {ends_on} 结束。",
        "problem.out_of_stock": "库存不足：只剩 {stock} 件，要兑付 {requested} 件。",
        "problem.invalid_quantity": "数量必须是至少为 1 的整数。",
        "problem.plan_code_taken": "方案编号已被使用，请换一个。",
        "problem.invalid_number": "请输入符合要求的整数。",
        "problem.period": "结束日期不能早于开始日期（或留空）。",
        # -- points rules (admin)
        "rules.title": "积分规则",
        "rules.help": (
            "参加活动、投诉结案、回应关怀、在积分刷卡机上刷卡时，按这里的规则自动积分。"
            "“需审批”的规则产生待审批积分，由另一位审核员批准后才入账。"
            "填写代码（活动类型、投诉类型、关怀触发方式或刷卡机目标）的规则优先于同类的通用规则。"
            "修改规则不影响已经产生的积分。"
        ),
        "rules.any": "（通用）",
        "rules.col.event": "事件",
        "rules.col.code": "代码",
        "rules.col.approval": "入账方式",
        "rules.col.active": "状态",
        "rules.col.description": "说明",
        "rules.col.updated": "最后修改",
        "rules.pending": "需审批",
        "rules.posted": "直接入账",
        "rules.on": "启用",
        "rules.off": "停用",
        "rules.edit": "新增或修改规则",
        "rules.code_help": "留空为该事件的通用规则；例如活动类型 salon、投诉类型 house_quality、刷卡机目标（商家代码）。",
        "rules.editing": "正在修改规则：{event} · {code}",
        "rules.new": "这是一条新规则。",
        "rules.needs_approval": "需要审核员批准后入账",
        "rules.active": "启用",
        "rules.save": "保存规则",
        "rules.saved": "规则已保存：{event} · {code}，{points} 积分。",
        "field.match_code": "代码",
        "field.event_type": "事件",
        "field.points": "积分",
    },
    "en_US": {
        "nav.points": "Points",
        "nav.points_approval": "Points approval",
        "nav.redemption": "Redemption",
        # -- the points page
        "points.title": "Points",
        "points.tab.member": "Member's points",
        "points.tab.manual": "Manual adjustment",
        "points.tab.batch": "Batch adjustment",
        "points.lookup_no": "Member or card number",
        "points.find": "Find",
        "points.not_found": "No member or card with the number “{number}”. Check the number.",
        "points.member": "Member: {member_no} · {name}",
        "points.balance": "Points balance",
        "points.history": "Points history (latest {count})",
        "points.no_history": "This member has no points entries yet.",
        "points.by": "By",
        "points.by.member": "Member number",
        "points.by.card": "Card number",
        "points.number": "Number",
        "points.amount": "Points (positive adds, negative takes)",
        "points.reason": "Reason",
        "points.manual.submit": "Post adjustment",
        "points.manual.help": (
            "An adjustment of more than {threshold} points (either sign) is posted only once "
            "another reviewer approves it."
        ),
        "points.manual.posted": (
            "Posted: {points} points for member {member_no}; the balance is now {balance}."
        ),
        "points.manual.pending": (
            "{points} points for member {member_no} is more than {threshold} points: recorded, "
            "waiting for approval (not posted yet)."
        ),
        "points.manual.already": (
            "This adjustment was already submitted just now and was not posted twice. To post it "
            "again, click “New adjustment”."
        ),
        "points.manual.new": "New adjustment",
        "points.batch.cards": "Card numbers (one a line, or separated by commas)",
        "points.batch.upload": "Or upload a file of card numbers (.txt / .csv, one a line, first column)",
        "points.batch.submit": "Post to all cards",
        "points.batch.empty": "Enter or upload at least one card number.",
        "points.batch.progress": "Processing {done}/{total} cards…",
        "points.batch.summary": (
            "{posted} posted, {pending} waiting for approval ({already} of them done before), "
            "{problems} not processed."
        ),
        "points.batch.problems": "Cards not processed (reason)",
        "points.col.remaining": "Remaining",
        "points.col.approved_by": "Approved by",
        "points.col.created_by": "Entered by",
        # -- approval
        "approval.title": "Points approval",
        "approval.none": "No points adjustments are waiting for approval.",
        "approval.count": "{count} waiting for approval (oldest first).",
        "approval.pick": "Choose one",
        "approval.entry": "{member_no} · {name}: {points} points (by {created_by})",
        "approval.reject_reason": "Reason for rejecting (required to reject)",
        "approval.approve": "Approve and post",
        "approval.reject": "Reject",
        "approval.approved": "Approved: {entry}.",
        "approval.rejected": "Rejected: {entry}.",
        "approval.col.member": "Member",
        # -- redemption
        "redeem.title": "Redemption",
        "redeem.plans": "Current plans",
        "redeem.no_plans": "No redemption plans are active now.",
        "redeem.col.code": "Plan code",
        "redeem.col.item": "Item",
        "redeem.col.cost": "Points per unit",
        "redeem.col.stock": "Stock",
        "redeem.col.period": "Period",
        "redeem.col.quantity": "Quantity",
        "redeem.col.count": "Redemptions",
        "redeem.col.redeemed_at": "Redeemed",
        "redeem.col.redeemed_by": "By",
        "redeem.open_end": "open-ended",
        "redeem.out_of_stock": " (out of stock)",
        "redeem.form": "Redeem for a member",
        "redeem.member_no": "Member number",
        "redeem.plan": "Plan",
        "redeem.quantity": "Quantity",
        "redeem.submit": "Redeem",
        "redeem.member_required": "Enter the member number.",
        "redeem.done": (
            "Redeemed {quantity} × {item} for member {member_no}: {points} points taken, "
            "balance now {balance}."
        ),
        "redeem.already": (
            "This redemption was already submitted just now and was not charged twice. To redeem "
            "again, click “New redemption”."
        ),
        "redeem.new": "New redemption",
        "redeem.history": "Member's redemptions",
        "redeem.history_submit": "Show redemptions",
        "redeem.history_balance": "Member {member_no} has {balance} points now.",
        "redeem.no_history": "Member {member_no} has no redemptions yet.",
        "redeem.stats": "Redemptions by plan",
        "redeem.stats_from": "From",
        "redeem.stats_to": "To",
        "redeem.no_stats": "No redemptions in this period.",
        "redeem.create": "New redemption plan (reviewers, admins)",
        "redeem.create.code": "Plan code",
        "redeem.create.item": "Item",
        "redeem.create.cost": "Points per unit",
        "redeem.create.stock": "Stock",
        "redeem.create.starts_on": "First day",
        "redeem.create.ends_on": "Last day (empty: open-ended)",
        "redeem.create.visible": "Show on the website",
        "redeem.create.submit": "Create plan",
        "redeem.create.done": "Plan {code} ({item}) created.",
        # -- refusals of the points and redemption services
        "problem.same_person": (
            "You entered this adjustment, so you cannot also approve it — another reviewer must."
        ),
        "problem.not_pending": (
            "This entry is already decided (now {status}); only pending entries can be decided."
        ),
        "problem.insufficient_points": (
            "The member has {balance} points; {requested} cannot be taken — the balance may not "
            "go below zero."
        ),
        "problem.daily_cap": (
            "You have entered {used} manual points today; this would pass the daily cap of {cap} "
            "— ask a colleague or a supervisor."
        ),
        "problem.invalid_points": "Points must be a whole number other than zero.",
        "problem.reason_required": "Enter a reason.",
        "problem.member_or_card": "Enter either a member number or a card number.",
        "problem.card_not_members": "That card is not one of this member's cards.",
        "problem.idempotency_key_reused": (
            "This submission's key was already used for another operation — reload the page and "
            "submit again."
        ),
        "problem.invalid_idempotency_key": "Invalid submission key — reload the page and submit again.",
        "problem.plan_inactive": "This redemption plan is not active.",
        "problem.plan_not_started": "This redemption plan starts on {starts_on}.",
        "problem.plan_ended": "This redemption plan ended on {ends_on}.",
        "problem.out_of_stock": "Out of stock: {stock} left, {requested} requested.",
        "problem.invalid_quantity": "The quantity is a whole number of at least 1.",
        "problem.plan_code_taken": "This plan code is already in use — choose another.",
        "problem.invalid_number": "Enter a whole number in the allowed range.",
        "problem.period": "The last day is on or after the first day, or empty.",
        # -- points rules (admin)
        "rules.title": "Points rules",
        "rules.help": (
            "Points awarded automatically for attending an activity, a closed complaint, a response "
            "to care, or a swipe at a points-award card reader. A rule that needs approval creates "
            "pending points that another reviewer must approve before they count. A rule with a "
            "code (activity type, complaint type, care trigger or reader target) wins over the "
            "general rule of its event. Changing a rule never changes points already created."
        ),
        "rules.any": "(any)",
        "rules.col.event": "Event",
        "rules.col.code": "Code",
        "rules.col.approval": "Posting",
        "rules.col.active": "State",
        "rules.col.description": "Description",
        "rules.col.updated": "Last changed",
        "rules.pending": "Needs approval",
        "rules.posted": "Posted at once",
        "rules.on": "Active",
        "rules.off": "Off",
        "rules.edit": "Add or change a rule",
        "rules.code_help": (
            "Empty for the general rule of the event; e.g. activity type salon, complaint type "
            "house_quality, or a reader's target (a merchant code)."
        ),
        "rules.editing": "Changing the rule: {event} · {code}",
        "rules.new": "This is a new rule.",
        "rules.needs_approval": "A reviewer must approve the points",
        "rules.active": "Active",
        "rules.save": "Save rule",
        "rules.saved": "Rule saved: {event} · {code}, {points} points.",
        "field.match_code": "Code",
        "field.event_type": "Event",
        "field.points": "Points",
    },
}
