"""Labels: the dictionary admin page and the points rules page (see __init__.py)."""

STRINGS: dict[str, dict[str, str]] = {
    "zh_CN": {
        "dictionary.title": "数据字典",
        "dictionary.help": (
            "各类“类型”列表（渠道、类型、地区……）。编号一经创建不能修改；停用的项目在已有记录中"
            "仍然显示，但新录入时不能再选。"
        ),
        "dictionary.category": "类别",
        "dictionary.category_option": "{name}（{code}，启用 {active} / 共 {total}）",
        "dictionary.empty": "该类别还没有项目，请在下方添加。",
        "dictionary.yes": "是",
        "dictionary.no": "否",
        "dictionary.col.code": "编号",
        "dictionary.col.label_zh": "中文名称",
        "dictionary.col.label_en": "英文名称",
        "dictionary.col.active": "启用",
        "dictionary.col.sort_order": "排序",
        "dictionary.col.parent_code": "上级编号",
        "dictionary.active_help": "停用后，已有记录保持不变，新录入时不能再选择该项目。",
        "dictionary.edit.title": "修改项目",
        "dictionary.edit.item": "项目",
        "dictionary.edit.code_fixed": "编号 {code} 不能修改（已有数据引用它）。",
        "dictionary.edit.submit": "保存项目",
        "dictionary.edit.done": "已保存项目 {code}，所有页面将显示新的名称。",
        "dictionary.add.title": "添加项目",
        "dictionary.add.code_help": "小写字母、数字和下划线，最多 40 个字符；创建后不能修改。",
        "dictionary.add.sort_order": "排序（可空：排在最后）",
        "dictionary.add.submit": "添加项目",
        "dictionary.add.done": "已添加项目 {code}。",
        "field.dictionary_code": "编号",
        "field.dictionary_label_zh": "中文名称",
        "field.dictionary_label_en": "英文名称",
        "field.dictionary_sort_order": "排序",
        "field.dictionary_parent_code": "上级编号",
        "field.dictionary_category": "类别",
        "problem.dictionary_code_format": "“{value}”不是有效编号：请用 1-40 个小写字母、数字或下划线。",
        "problem.dictionary_code_taken": "该类别已有编号“{value}”。编号不能修改，请直接修改那个项目。",
    },
    "en_US": {
        "dictionary.title": "Dictionary",
        "dictionary.help": (
            "The club's type lists (channels, types, regions…). A code never changes once "
            "created; an inactive item still shows on existing records but cannot be chosen for "
            "new ones."
        ),
        "dictionary.category": "Category",
        "dictionary.category_option": "{name} ({code}, {active} active of {total})",
        "dictionary.empty": "This category has no items yet; add one below.",
        "dictionary.yes": "Yes",
        "dictionary.no": "No",
        "dictionary.col.code": "Code",
        "dictionary.col.label_zh": "Chinese label",
        "dictionary.col.label_en": "English label",
        "dictionary.col.active": "Active",
        "dictionary.col.sort_order": "Sort order",
        "dictionary.col.parent_code": "Parent code",
        "dictionary.active_help": (
            "Once inactive, existing records keep the item, but new entries cannot choose it."
        ),
        "dictionary.edit.title": "Edit an item",
        "dictionary.edit.item": "Item",
        "dictionary.edit.code_fixed": "The code {code} cannot change (records refer to it).",
        "dictionary.edit.submit": "Save item",
        "dictionary.edit.done": "Item {code} saved; every page shows the new labels.",
        "dictionary.add.title": "Add an item",
        "dictionary.add.code_help": (
            "Lower-case letters, digits and underscores, at most 40; it cannot change later."
        ),
        "dictionary.add.sort_order": "Sort order (empty: last)",
        "dictionary.add.submit": "Add item",
        "dictionary.add.done": "Item {code} added.",
        "field.dictionary_code": "Code",
        "field.dictionary_label_zh": "Chinese label",
        "field.dictionary_label_en": "English label",
        "field.dictionary_sort_order": "Sort order",
        "field.dictionary_parent_code": "Parent code",
        "field.dictionary_category": "Category",
        "problem.dictionary_code_format": (
            "“{value}” is not a code: use 1 to 40 lower-case letters, digits or underscores."
        ),
        "problem.dictionary_code_taken": (
            "This category already has the code “{value}”. Codes cannot change — edit that item "
            "instead."
        ),
    },
}
