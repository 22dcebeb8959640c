"""Labels: the Accounts, SQL and Status pages (see __init__.py)."""

STRINGS: dict[str, dict[str, str]] = {
    "zh_CN": {
        "nav.accounts": "账号管理",
        "nav.sql": "SQL 查询",
        "nav.status": "运行状态",
        "nav.analysis": "数据分析",
        # accounts
        "accounts.title": "账号管理",
        "accounts.help": (
            "员工账号：新建账号、修改角色、停用/启用、重设密码和解除锁定。不能停用或降级自己的"
            "账号，也不能停用或降级最后一个启用的管理员。"
        ),
        "accounts.col.username": "用户名",
        "accounts.col.display_name": "姓名",
        "accounts.col.role": "角色",
        "accounts.col.department": "部门",
        "accounts.col.status": "状态",
        "accounts.col.last_login": "最近登录",
        "accounts.col.locked_until": "锁定至",
        "accounts.status.active": "启用",
        "accounts.status.disabled": "已停用",
        "accounts.status.locked": "已锁定",
        "accounts.never": "从未登录",
        "accounts.password": "密码（留空则自动生成）",
        "accounts.password_help": "至少 {min} 个字符。",
        "accounts.password_once": "新密码只显示这一次，请现在转告账号本人：",
        "accounts.create.title": "新建账号",
        "accounts.create.submit": "新建账号",
        "accounts.create.done": "已新建账号 {username}。",
        "accounts.manage.title": "管理账号",
        "accounts.manage.account": "账号",
        "accounts.manage.summary": "状态：{status} · 连续登录失败 {failed} 次 · 最近登录：{last}",
        "accounts.role.submit": "修改角色",
        "accounts.role.done": "账号 {username} 的角色已改为{role}，下次登录时生效。",
        "accounts.disable": "停用账号",
        "accounts.disable.done": "已停用账号 {username}，该账号不能再登录。",
        "accounts.enable": "启用账号",
        "accounts.enable.done": "已启用账号 {username}。",
        "accounts.unlock": "解除锁定",
        "accounts.unlock.done": "已解除账号 {username} 的锁定。",
        "accounts.reset.title": "重设密码",
        "accounts.reset.password": "新密码（留空则自动生成）",
        "accounts.reset.submit": "重设密码",
        "accounts.reset.done": "已重设账号 {username} 的密码，锁定同时解除。",
        # sql
        "sql.title": "SQL 查询",
        "sql.help": (
            "对已发布的数据仓库执行只读查询（每次一条 SELECT）。超过 {seconds} 秒的查询会被停止，"
            "最多返回 {limit} 行。个人信息已脱敏；restricted 模式和读取文件的函数不可用。"
        ),
        "sql.no_warehouse": "还没有已发布的数据仓库：数据管道第一次运行完成后即可查询。",
        "sql.query": "SQL",
        "sql.limit": "最多返回行数",
        "sql.run": "执行查询",
        "sql.running": "正在查询……",
        "sql.rows": "共 {rows} 行，用时 {seconds} 秒。",
        "sql.truncated": "结果超过上限，只显示前 {limit} 行。",
        "sql.timeout": "查询超过 {seconds} 秒，已停止。请缩小范围（加条件或 LIMIT）后重试。",
        "sql.failed": "查询无法执行，请检查 SQL：",
        "sql.download_csv": "下载 CSV",
        "sql.download_excel": "下载 Excel",
        "sql.refused.not_read_only": (
            "不允许执行 {detail} 语句：这里的数据仓库只读，请用 SELECT、WITH、FROM、VALUES、"
            "DESCRIBE、SHOW 或 SUMMARIZE。"
        ),
        "sql.refused.several": "一次只能执行一条语句。",
        "sql.refused.empty": "请输入一条 SELECT 语句。",
        "sql.refused.syntax": "SQL 有语法错误：",
        "sql.refused.restricted": (
            "restricted 模式（未脱敏的个人信息）在这里不可用，请改用 core 或 reporting 中的表。"
        ),
        "sql.refused.file_access": "不允许读取文件：只能查询数据仓库中的表（模式.表名）。",
        "sql.refused.file_function": "{detail}() 会读取文件，不允许使用：只能查询数据仓库中的表。",
        "sql.schema.title": "表结构",
        "sql.schema.schema": "模式",
        "sql.schema.table": "表",
        "sql.schema.empty": "数据仓库中还没有表。",
        "sql.col.column": "列",
        "sql.col.type": "类型",
        "sql.col.description": "说明",
        # status
        "status.title": "运行状态",
        "status.help": "数据管道最近几次运行、最近一次运行中失败的检查，以及报表数据的新鲜程度。",
        "status.nothing": "数据管道还没有运行过：第一次运行（clubcrm pipeline run）后这里会显示结果。",
        "status.runs.title": "最近运行",
        "status.runs.none": "这个数据目录中没有运行记录。",
        "status.col.started": "开始时间",
        "status.col.duration": "用时",
        "status.col.result": "结果",
        "status.col.mode": "范围",
        "status.col.as_of": "截至日期",
        "status.col.run_id": "运行编号",
        "status.col.kind": "类型",
        "status.col.name": "名称",
        "status.col.target": "对象",
        "status.col.message": "说明",
        "status.col.failed_rows": "不合格行数",
        "status.col.source": "来源表",
        "status.col.watermark": "已读取到",
        "status.col.loaded_at": "读取时间",
        "status.col.fact": "事实表",
        "status.col.column": "时间列",
        "status.col.newest": "最新记录",
        "status.duration": "{minutes} 分 {seconds} 秒",
        "status.run.success": "成功",
        "status.run.failure": "失败",
        "status.run.started": "运行中",
        "status.run.starting": "启动中",
        "status.run.queued": "排队中",
        "status.run.canceled": "已取消",
        "status.run.canceling": "取消中",
        "status.run.other": "其他",
        "status.mode.complete": "完整",
        "status.mode.full": "全量",
        "status.mode.routine": "日常（仅核心层）",
        "status.kind.check": "检查",
        "status.kind.step": "步骤",
        "status.failures.title": "最近一次运行的问题",
        "status.failures.none": "最近一次运行全部通过。",
        "status.failures.warnings": "最近一次运行成功并已发布，但有 {count} 项检查给出警告：",
        "status.failures.unknown": "最近一次运行的结果是“{result}”，没有记录到失败的检查。",
        "status.failures.count": "最近一次运行有 {count} 项失败，报表仍显示上一次成功发布的数据。",
        "status.freshness.title": "数据新鲜程度",
        "status.freshness.none": "还没有发布过数据仓库。",
        "status.freshness.published_at": "发布时间",
        "status.freshness.marts_built_at": "报表层生成时间",
        "status.freshness.mode": "最近发布范围",
        "status.freshness.as_of": "按 {as_of} 当日数据生成。",
        "status.freshness.routine": "最近一次是日常运行：核心层已更新，报表和预测来自上一次完整运行。",
        "status.watermarks.title": "原始数据读取进度",
        "status.events.title": "各事实表的最新记录",
        # -- a pipeline run started from the page
        "status.launch.title": "运行数据管道",
        "status.launch.mode": "运行范围",
        "status.launch.mode.routine": "日常运行（仅核心层，几分钟）",
        "status.launch.mode.complete": "完整运行（报表、分析与预测，较久）",
        "status.launch.help.routine": "读取新增和变更的数据，更新核心层并发布；报表、分析和预测保持上一次完整运行的结果。",
        "status.launch.help.complete": "读取新增和变更的数据，重建全部报表和分析，必要时训练模型并为全部会员评分，然后发布。",
        "status.launch.start": "开始运行",
        "status.launch.started": "已开始{mode}运行。",
        "status.launch.busy": "已有一次数据管道运行正在进行，请等它结束后再开始。",
        "status.launch.refused": "只有经理和管理员可以运行数据管道。",
        "status.launch.running": "正在运行：{step}（第 {index}/{total} 步）",
        "status.launch.starting": "正在启动（加载数据管道定义）…",
        "status.launch.by": "{mode}运行，由 {user} 于 {when} 开始，已用时 {elapsed}。运行日志：{log}",
        "status.launch.dbt_models": "已生成 {done}/{total} 个表",
        "status.launch.succeeded": "从本页开始的{mode}运行已成功完成并发布。",
        "status.launch.failed": "从本页开始的{mode}运行失败，报表仍显示上一次成功发布的数据。",
        "status.launch.no_summary": "运行没有输出结果就结束了（可能被中止）。日志最后几行：",
        "status.launch.log": "运行日志：{log}",
        "status.step.operational": "读取业务数据",
        "status.step.swipes": "读取刷卡记录",
        "status.step.dbt": "生成数据仓库（dbt）",
        "status.step.train": "训练预测模型",
        "status.step.prediction": "会员评分",
        "status.step.publish": "发布",
        "field.username": "用户名",
        "field.display_name": "姓名",
        "field.password": "密码",
        "field.role": "角色",
        "problem.too_short": "太短：至少 {min} 个字符。",
        "problem.taken": "“{value}”已被使用。",
        "problem.last_admin": "{username} 是最后一个启用的管理员，请先把另一个账号设为管理员。",
        "problem.own_account": "不能停用或降级自己的账号，请由其他管理员操作。",
    },
    "en_US": {
        "nav.accounts": "Accounts",
        "nav.sql": "SQL",
        "nav.status": "Status",
        "nav.analysis": "Analysis",
        # accounts
        "accounts.title": "Accounts",
        "accounts.help": (
            "Staff accounts: create them, change roles, disable or enable them, reset passwords "
            "and lift lockouts. Nobody disables or demotes their own account, and the last "
            "active admin cannot be disabled or demoted."
        ),
        "accounts.col.username": "Username",
        "accounts.col.display_name": "Name",
        "accounts.col.role": "Role",
        "accounts.col.department": "Department",
        "accounts.col.status": "Status",
        "accounts.col.last_login": "Last sign-in",
        "accounts.col.locked_until": "Locked until",
        "accounts.status.active": "Active",
        "accounts.status.disabled": "Disabled",
        "accounts.status.locked": "Locked",
        "accounts.never": "never",
        "accounts.password": "Password (leave empty to generate one)",
        "accounts.password_help": "At least {min} characters.",
        "accounts.password_once": "The new password is shown only this once; pass it on now:",
        "accounts.create.title": "New account",
        "accounts.create.submit": "Create account",
        "accounts.create.done": "Account {username} created.",
        "accounts.manage.title": "Manage an account",
        "accounts.manage.account": "Account",
        "accounts.manage.summary": "Status: {status} · failed sign-ins in a row: {failed} · "
        "last sign-in: {last}",
        "accounts.role.submit": "Change role",
        "accounts.role.done": "{username} is now {role}, from their next sign-in.",
        "accounts.disable": "Disable account",
        "accounts.disable.done": "Account {username} disabled; it can no longer sign in.",
        "accounts.enable": "Enable account",
        "accounts.enable.done": "Account {username} enabled.",
        "accounts.unlock": "Unlock",
        "accounts.unlock.done": "Account {username} unlocked.",
        "accounts.reset.title": "Reset password",
        "accounts.reset.password": "New password (leave empty to generate one)",
        "accounts.reset.submit": "Reset password",
        "accounts.reset.done": "Password of {username} reset; any lockout is lifted.",
        # sql
        "sql.title": "SQL",
        "sql.help": (
            "Read-only queries on the published warehouse, one SELECT at a time. A query "
            "still running after {seconds} s is stopped; at most {limit} rows come back. "
            "Personal data is masked; the restricted schema and file-reading functions are "
            "not available."
        ),
        "sql.no_warehouse": ("No published warehouse yet: queries work once the pipeline has run."),
        "sql.query": "SQL",
        "sql.limit": "Row limit",
        "sql.run": "Run query",
        "sql.running": "Running the query…",
        "sql.rows": "{rows} rows in {seconds} s.",
        "sql.truncated": "More rows than the limit: showing the first {limit} rows.",
        "sql.timeout": (
            "Query stopped after {seconds} s. Narrow it down (a WHERE or LIMIT) and run it again."
        ),
        "sql.failed": "The query could not run; check the SQL:",
        "sql.download_csv": "Download CSV",
        "sql.download_excel": "Download Excel",
        "sql.refused.not_read_only": (
            "{detail} statements are not allowed: the warehouse is read-only here (use "
            "SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW or SUMMARIZE)."
        ),
        "sql.refused.several": "One statement at a time, please.",
        "sql.refused.empty": "Write one SELECT statement.",
        "sql.refused.syntax": "The SQL has a syntax error:",
        "sql.refused.restricted": (
            "The restricted schema (unmasked personal data) is not available here; use the "
            "tables of core or reporting."
        ),
        "sql.refused.file_access": (
            "Reading files is not allowed: query the warehouse's tables (schema.table)."
        ),
        "sql.refused.file_function": (
            "{detail}() reads files and is not allowed: query the warehouse's tables."
        ),
        "sql.schema.title": "Tables",
        "sql.schema.schema": "Schema",
        "sql.schema.table": "Table",
        "sql.schema.empty": "The warehouse has no tables yet.",
        "sql.col.column": "Column",
        "sql.col.type": "Type",
        "sql.col.description": "Description",
        # status
        "status.title": "Status",
        "status.help": (
            "The pipeline's last runs, what failed in the newest one, and how fresh the "
            "reports' data is."
        ),
        "status.nothing": (
            "The pipeline has not run yet: results show here after the first "
            "`clubcrm pipeline run`."
        ),
        "status.runs.title": "Last runs",
        "status.runs.none": "No runs are recorded in this data folder.",
        "status.col.started": "Started",
        "status.col.duration": "Duration",
        "status.col.result": "Result",
        "status.col.mode": "Scope",
        "status.col.as_of": "As of",
        "status.col.run_id": "Run",
        "status.col.kind": "Kind",
        "status.col.name": "Name",
        "status.col.target": "Checked",
        "status.col.message": "Message",
        "status.col.failed_rows": "Failing rows",
        "status.col.source": "Source table",
        "status.col.watermark": "Read up to",
        "status.col.loaded_at": "Read at",
        "status.col.fact": "Fact table",
        "status.col.column": "Time column",
        "status.col.newest": "Newest record",
        "status.duration": "{minutes} min {seconds} s",
        "status.run.success": "Success",
        "status.run.failure": "Failure",
        "status.run.started": "Running",
        "status.run.starting": "Starting",
        "status.run.queued": "Queued",
        "status.run.canceled": "Canceled",
        "status.run.canceling": "Canceling",
        "status.run.other": "Other",
        "status.mode.complete": "Complete",
        "status.mode.full": "Full",
        "status.mode.routine": "Routine (core only)",
        "status.kind.check": "Check",
        "status.kind.step": "Step",
        "status.failures.title": "Problems in the last run",
        "status.failures.none": "Everything passed in the last run.",
        "status.failures.warnings": (
            "The last run succeeded and published, with {count} checks warning:"
        ),
        "status.failures.unknown": (
            "The last run ended as “{result}” with no failed check recorded."
        ),
        "status.failures.count": (
            "{count} failures in the last run; the reports still show the last published data."
        ),
        "status.freshness.title": "Data freshness",
        "status.freshness.none": "No warehouse has been published yet.",
        "status.freshness.published_at": "Published",
        "status.freshness.marts_built_at": "Reports built",
        "status.freshness.mode": "Last published scope",
        "status.freshness.as_of": "Built as of {as_of}.",
        "status.freshness.routine": (
            "The last run was routine: the core layer is new; reports and predictions are from "
            "the last complete run."
        ),
        "status.watermarks.title": "Raw data read up to",
        "status.events.title": "Newest record per fact table",
        # -- a pipeline run started from the page
        "status.launch.title": "Run the pipeline",
        "status.launch.mode": "Scope",
        "status.launch.mode.routine": "Routine (core layer only, minutes)",
        "status.launch.mode.complete": "Complete (reports, analysis and predictions, longer)",
        "status.launch.help.routine": (
            "Reads new and changed data, refreshes the core layer and publishes; reports, "
            "analysis and predictions stay as the last complete run built them."
        ),
        "status.launch.help.complete": (
            "Reads new and changed data, rebuilds every report and analysis, trains models if "
            "needed, scores every member, then publishes."
        ),
        "status.launch.start": "Start run",
        "status.launch.started": "The {mode} run has started.",
        "status.launch.busy": "A pipeline run is already going on; start another when it has ended.",
        "status.launch.refused": "Only managers and admins may run the pipeline.",
        "status.launch.running": "Running: {step} (step {index} of {total})",
        "status.launch.starting": "Starting (loading the pipeline's definitions)…",
        "status.launch.by": (
            "{mode} run started by {user} at {when}, running for {elapsed}. Log: {log}"
        ),
        "status.launch.dbt_models": "{done} of {total} tables built",
        "status.launch.succeeded": "The {mode} run started here succeeded and published.",
        "status.launch.failed": (
            "The {mode} run started here failed; the reports still show the last published data."
        ),
        "status.launch.no_summary": (
            "The run ended without printing a result (it may have been stopped). Last lines of "
            "its log:"
        ),
        "status.launch.log": "Log: {log}",
        "status.step.operational": "Reading the operational data",
        "status.step.swipes": "Reading card swipes",
        "status.step.dbt": "Building the warehouse (dbt)",
        "status.step.train": "Training the prediction models",
        "status.step.prediction": "Scoring members",
        "status.step.publish": "Publishing",
        "field.username": "Username",
        "field.display_name": "Name",
        "field.password": "Password",
        "field.role": "Role",
        "problem.too_short": "Too short: use at least {min} characters.",
        "problem.taken": "“{value}” is taken.",
        "problem.last_admin": (
            "{username} is the last active admin: make another account admin first."
        ),
        "problem.own_account": (
            "You may not disable or demote your own account; ask another admin."
        ),
    },
}
