"""Simplified Chinese (``zh-CN``) wording of the API's error messages and reasons.

Keys are those of :class:`~ylai_plugin.domain.errors.Text`: each entry is a :meth:`str.format`
template over the same values as the English one (a test checks that every key the code uses is
here, with the same placeholders). ``validation.<type>`` entries word pydantic's errors by type,
from its ``ctx`` (``max_length``, ``pattern``, ``expected``...). A key missing here is answered
in English, never with an error.
"""

# Full-width punctuation is correct in Chinese text.
# ruff: noqa: RUF001, RUF003

from __future__ import annotations

from typing import Any

# What each status code means, leading a sentence no catalog knows ("未找到：Not Found").
STATUS: dict[int, str] = {
    400: "请求有误",
    401: "未通过身份验证",
    403: "禁止访问",
    404: "未找到",
    405: "不允许的请求方法",
    409: "冲突",
    413: "请求内容过大",
    422: "输入无效",
    429: "请求过多",
    500: "服务器内部错误",
    503: "服务不可用",
}

# ylai's own words used as values (Term): kinds of things, verbs of permissions.
TERMS: dict[str, str] = {
    "Task": "任务",
    "DAG": "DAG",
    "Preset": "预设",
    "Feedback": "反馈",
    "Script": "脚本",
    "Database script": "数据库脚本",
    "Pipeline": "流水线",
    "Database pipeline": "数据库流水线",
    "Pipeline version": "流水线版本",
    "Script version": "脚本版本",
    "Run": "运行",
    "Alert": "告警",
    "Alert rule": "告警规则",
    "Silence": "静默",
    "Export job": "导出作业",
    "File": "文件",
    "Page": "页面",
    "Role": "角色",
    "Approval": "审批",
    "read": "读取",
    "create": "创建",
    "edit": "修改",
    "delete": "删除",
}

MESSAGES: dict[str, str] = {
    # ------------------------------------------------------------ envelope and HTTP
    "invalid_input": "输入无效",
    "internal_error": "服务器内部错误；服务器日志中以本次请求的 X-Request-ID 记录了详细信息",
    "body_unreadable": "无法读取请求体：请发送 UTF-8 编码的 JSON",
    "rate_limited": "请求过多；请在 {seconds} 秒后重试",
    "queue_full": "队列 {queue!r} 已满：{depth} 个任务实例正在等待，上限为 {limit}；请在 {seconds} 秒后重试",
    "auth.not_authenticated": "未通过身份验证：请登录或提供 Bearer 令牌",
    "auth.token_expired": "令牌已过期，请重新登录",
    "auth.invalid_token": "JWT 令牌无效，请重新登录",
    "http.403": "禁止访问",
    "http.404": "未找到",
    "http.405": "不允许的请求方法",
    # ------------------------------------------------------------ a dependency down (domain/outages.py)
    "unavailable.metadata_db": "元数据库不可用；请在 {seconds} 秒后重试",
    "unavailable.broker": "Celery 消息代理（broker）不可用；请在 {seconds} 秒后重试",
    "unavailable.cache": "Redis（缓存）不可用；请在 {seconds} 秒后重试",
    "unavailable.timeout": "请求未能在 {timeout} 秒内完成；请在 {seconds} 秒后重试",
    # ------------------------------------------------------------ lookups and permissions
    "not_found": "{kind} {key!r} 不存在",
    "access.view": "你无权{verb} {resource}",
    "access.dag": "你无权对 DAG {dag_id!r} 的 {entity} 执行 {method}",
    "access.no_fab": "权限矩阵需要 Airflow 的 FAB 认证管理器",
    "access.admin_keeps_all": "{role} 角色保留全部 ylai 权限；请从其他角色撤销",
    "access.not_ylai_resource": "不是 ylai 的资源；应为 {resources} 之一",
    "access.unknown_action": "未知操作 {action!r}；应为 {actions} 之一",
    # ------------------------------------------------------------ field reasons shared by resources
    "field.cannot_be_null": "不能为 null",
    "field.must_be_object": "必须是对象",
    "field.not_found": "不存在",
    "field.needs_time_zone": "必须包含时区",
    "field.needs_time_zone_example": "必须包含时区，例如 2026-12-01T08:00:00Z",
    "field.year_out_of_range": "年份必须在 1970 到 9000 之间",
    "field.no_nul": "不得包含 NUL 字符",
    "field.unknown_time_zone": "未知的时区 {zone!r}",
    "field.one_of": "必须是以下之一：{choices}",
    "field.sort_key": "必须是以下之一：{choices}，前面可加 '-'（降序）",
    "fields.unknown": "未知字段：{unknown}；可选字段：{allowed}",
    "logs.bad_cursor": "不是本搜索的游标；请去掉它重新开始",
    "logs.regex_too_long": "超过 {limit} 个字符",
    "logs.regex_invalid": "不是有效的正则表达式：{error}",
    "logs.regex_repeats": "重复（*、+、{{n,}}）超过 {limit} 处",
    "logs.regex_backref": "不能反向引用分组（\\1）",
    "logs.regex_nested": "不能重复一个重复，如 (a+)+：可能耗费指数级时间",
    "logs.regex_branch": "不能重复一个选择，如 (a|b)+：可能耗费指数级时间",
    "logs.naive_time": "需要时区，例如 2026-12-04T10:00:00Z",
    "fields.none": "未指定字段；可选字段：{allowed}",
    # ------------------------------------------------------------ DAG params and runs
    "params.invalid": "参数无效",
    "params.unknown": "不是此 DAG 的参数",
    "dags.run_refused": "Airflow 拒绝创建运行：{reason}",
    # ------------------------------------------------------------ live form options (options_from)
    "access.dag_read": "你无权读取 DAG {dag_id!r}",
    "form_options.needs_value": "需要先填写 {other}",
    "form_options.unavailable": "{field} 的选项暂不可用：{reason}",
    "form_options.no_options": "{dag_id!r} 没有带 options_from 的参数 {param!r}",
    "form_options.not_live": "{value!r} 不在当前可选项中",
    # ------------------------------------------------------------ tasks, presets, scripts
    "approval.four_eyes": "这次运行是你发起的；须由其他人审批（四眼原则）",
    "approval.no_right": "你的角色无权审批（没有 ylai Approvals 的 can_edit 权限）",
    "approval.decided": "该审批已是 {state} 状态",
    "approval.not_approver": "只有 {approvers}（或管理员）可以审批这次运行",
    "approval.comment_required_approve": "批准这次运行需要填写意见",
    "approval.comment_required_reject": "驳回这次运行需要填写理由",
    "task.name_taken": "名为 {name!r} 的任务已存在",
    "task.one_target": "'script'、'pipeline' 和 'dag_id' 必须且只能给出一个",
    "task.dag_not_ready": "任务自己的 DAG {dag_id} 尚未进入 Airflow（几分钟内会被解析），请稍后再试",
    "preset.name_taken": "你已为此 DAG 保存过名为 {name!r} 的预设",
    "preset.owner_only": "只有所有者（或 Admin）可以修改此预设",
    "preset.share_own_roles": "只能共享给你自己所属的角色",
    "script.name_taken": "名为 {name!r} 的脚本已存在",
    "script.invalid_manifest": "清单无效",
    "script.manifest_top_level": "应在顶层设置，而不是在清单中",
    "script.repository_versions": (
        "脚本 {name!r} 是 dags/scripts 中的文件：其历史由代码仓库（git）管理，而非 ylai；其运行会显示所运行文件的摘要"
    ),
    "pipeline.invalid_spec": "流水线定义无效",
    "pipeline.name_taken": "名为 {name!r} 的流水线已存在",
    "pipeline.name_differs": "必须是 {name!r}，即该流水线的名称",
    "pipeline.read_only": "流水线 {name!r} 是代码仓库中的流水线，只读：请以另一个名称保存副本",
    # ------------------------------------------------------------ alerts
    "alert_rule.name_taken": "名为 {name!r} 的告警规则已存在",
    "alert_rule.from_manifest": "规则 {rule_id} 来自 {source}；请改为编辑其 alerts: 部分",
    "alert_rule.from_manifest_enabled_only": "规则 {rule_id} 来自 {source}；此处只能修改 'enabled'",
    "alert_rule.from_manifest_delete": "规则 {rule_id} 来自 {source}；请改为删除其 alerts: 部分",
    "alert_rule.deadline_time": "应为 HH:MM 格式，00:00 到 23:59",
    "alert_rule.duration_limit": "max_seconds 和 p95_factor 必须且只能设置一个",
    "alert_rule.email_target": "email 渠道的 target 必须是电子邮件地址",
    "alert_rule.webhook_target": "webhook 渠道的 target 必须是 http(s) URL（或与 connection_id 一起使用的 /路径）",
    "silence.target": "请给出 rule_id 或非空的 scope",
    "silence.ends_at": "必须是将来的时间，并且晚于 starts_at",
    "silence.no_rule": "告警规则 {rule_id} 不存在",
    # ------------------------------------------------------------ exports
    "export.value_length": "每个值的长度必须为 1 到 250 个字符",
    "export.month_or_period": "'month' 与 'since'/'until' 只能给出其一",
    "export.since_before_until": "'since' 必须早于 'until'",
    # ------------------------------------------------------------ usage statistics
    "usage.unknown_page": "不是 ylai 的页面；可选：{pages}",
    "usage.click_position": "点击事件需要 region、x 和 y",
    "usage.page_view_position": "页面浏览事件不能带 region、x 或 y",
    "usage.start_after_end": "'start' 不能晚于 'end'",
    "usage.period_too_long": "一次最多 {days} 天",
    "export.period_too_long": "时间段最多可跨 {days} 天",
    "export.no_state_filter": "{kind} 导出没有状态筛选",
    "export.unknown_state": "未知的 {kind} 状态 {state!r}；可选：{states}",
    "export.no_user_filter": "{kind} 导出没有用户筛选",
    "export.audit_only_filter": "只有审计日志导出有 {name} 筛选",
    "export.feedback_only_filter": "只有反馈导出有 {name} 筛选",
    "export.no_alert_history": "此安装中没有告警历史",
    "export.audit_forbidden": "你无权读取审计日志",
    "export.job_not_done": "导出作业 {job_id} 的状态为 {state}；请在其成功后再下载",
    "export.file_gone": "导出作业 {job_id} 的文件已不存在",
    "export.too_many_rows": "{rows} 行超过了直接下载 {format} 的上限 {limit} 行；"
    "请用 POST /exports/jobs 创建导出作业，或下载 CSV",
    "reports.font_missing": "找不到用于含中文的 PDF 报告的 CJK TrueType 字体。ylai 在 paperang-p2-fonts-cjk "
    "包中自带了一款（重新安装 ylai 的依赖：make install），也可以将 [ylai] report_font"
    "（AIRFLOW__YLAI__REPORT_FONT）设为带 TrueType 轮廓的 .ttf/.ttc 文件。已尝试：{tried}",
    # ------------------------------------------------------------ pydantic's validation errors, by type
    "validation.missing": "必填字段",
    "validation.extra_forbidden": "不允许额外的字段",
    "validation.none_required": "应为 null",
    "validation.string_type": "应为字符串",
    "validation.string_unicode": "应为有效的字符串，无法按 Unicode 解析",
    "validation.string_too_short": "至少需要 {min_length} 个字符",
    "validation.string_too_long": "最多 {max_length} 个字符",
    "validation.string_pattern_mismatch": "应匹配模式 '{pattern}'",
    "validation.string_not_ascii": "只能包含 ASCII 字符",
    "validation.too_short": "至少需要 {min_length} 项，实际为 {actual_length} 项",
    "validation.too_long": "最多 {max_length} 项，实际为 {actual_length} 项",
    "validation.literal_error": "应为 {expected}",
    "validation.enum": "应为 {expected}",
    "validation.int_type": "应为整数",
    "validation.int_parsing": "应为整数，无法将字符串解析为整数",
    "validation.int_parsing_size": "无法将输入解析为整数：超出最大长度",
    "validation.int_from_float": "应为整数，不能带小数部分",
    "validation.float_type": "应为数字",
    "validation.float_parsing": "应为数字，无法将字符串解析为数字",
    "validation.finite_number": "应为有限数字",
    "validation.decimal_parsing": "应为有效的十进制数",
    "validation.bool_type": "应为布尔值",
    "validation.bool_parsing": "应为布尔值，无法识别输入",
    "validation.greater_than": "应大于 {gt}",
    "validation.greater_than_equal": "应大于或等于 {ge}",
    "validation.less_than": "应小于 {lt}",
    "validation.less_than_equal": "应小于或等于 {le}",
    "validation.multiple_of": "应为 {multiple_of} 的倍数",
    "validation.dict_type": "应为对象",
    "validation.list_type": "应为列表",
    "validation.tuple_type": "应为元组",
    "validation.set_type": "应为集合",
    "validation.model_type": "应为对象或 {class_name} 的实例",
    "validation.model_attributes_type": "应为可从中提取字段的对象",
    "validation.is_instance_of": "应为 {class} 的实例",
    "validation.json_invalid": "JSON 无效：{error}",
    "validation.json_type": "JSON 输入应为字符串、bytes 或 bytearray",
    "validation.date_type": "应为有效的日期",
    "validation.date_parsing": "应为 YYYY-MM-DD 格式的有效日期（{error}）",
    "validation.date_from_datetime_parsing": "应为有效的日期或日期时间（{error}）",
    "validation.datetime_type": "应为有效的日期时间",
    "validation.datetime_parsing": "应为有效的日期时间（{error}）",
    "validation.datetime_from_date_parsing": "应为有效的日期时间或日期（{error}）",
    "validation.time_parsing": "应为有效的时间格式（{error}）",
    "validation.time_delta_parsing": "应为有效的时间间隔（{error}）",
    "validation.timezone_aware": "应包含时区",
    "validation.timezone_naive": "不应包含时区",
    "validation.datetime_past": "应为过去的时间",
    "validation.datetime_future": "应为将来的时间",
    "validation.date_past": "应为过去的日期",
    "validation.date_future": "应为将来的日期",
    "validation.url_type": "URL 应为字符串或 URL",
    "validation.url_parsing": "应为有效的 URL（{error}）",
    "validation.url_scheme": "URL 协议应为 {expected_schemes}",
    "validation.url_too_long": "URL 最多 {max_length} 个字符",
    "validation.uuid_type": "UUID 应为字符串、bytes 或 UUID 对象",
    "validation.uuid_parsing": "应为有效的 UUID（{error}）",
    "validation.union_tag_invalid": "通过 {discriminator} 找到的标签 '{tag}' 不是预期的标签之一：{expected_tags}",
    "validation.union_tag_not_found": "无法通过判别字段 {discriminator} 取得标签",
}


def value(name: str, given: Any) -> Any:
    """A value as a Chinese sentence shows it.

    As pydantic's English does: a whole float is shown as an integer (``le=1`` on a float field
    is ``1.0`` in ``ctx``, "1" in the sentence), and its "'a', 'b' or 'c'" lists end in "或".
    """
    if isinstance(given, float) and given.is_integer():
        return int(given)
    if name in {"expected", "expected_schemes", "expected_tags"} and isinstance(given, str) and " or " in given:
        head, _, last = given.rpartition(" or ")
        return f"{head} 或 {last}"
    return given
