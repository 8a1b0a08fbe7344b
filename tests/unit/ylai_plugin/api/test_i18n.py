"""Error answers in the language ``Accept-Language`` asks for: English (default) or Simplified Chinese.

Through the real app (SimpleAuthManager on the unit DB): a 404, a 409, 422s of several pydantic
error types, a 403 and a 401, each in both languages, with ``Content-Language``. Then the
negotiation (q-values, wildcards, ``q=0``) as a function, and the catalog against the code: every
key the code words has a Chinese wording over the same values.
"""

# Full-width punctuation is correct in the Chinese answers.
# ruff: noqa: RUF001

from __future__ import annotations

import ast
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tests.unit.api_client import headers, sync_repo_dags
from ylai_plugin.api import messages_zh
from ylai_plugin.api.app import create_app
from ylai_plugin.api.errors import KNOWN_DETAILS, ApiError, envelope
from ylai_plugin.api.i18n import negotiate, placeholders, translator
from ylai_plugin.domain.errors import Invalid, Term, Text, localized, text, validation_reason

ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}
PLUGIN = Path(__file__).resolve().parents[4] / "plugins" / "ylai_plugin"


@pytest.fixture(scope="module")
def client(airflow_db: object) -> Iterator[TestClient]:
    sync_repo_dags()
    with TestClient(create_app(), headers=headers("admin", "ida")) as c:
        yield c


def error(resp: Any, status: int, language: str) -> dict[str, Any]:
    """The envelope's ``error`` after checking the status and the language the answer says it is in."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-language"] == language
    assert "accept-language" in resp.headers["vary"].lower()
    body: dict[str, Any] = resp.json()["error"]
    return body


# ---------------------------------------------------------------- through the app


def test_404_names_the_kind_in_each_language(client: TestClient) -> None:
    en = error(client.get("/api/v1/tasks/987654", headers=EN), 404, "en")
    zh = error(client.get("/api/v1/tasks/987654", headers=ZH), 404, "zh-CN")
    assert en == {"code": "not_found", "message": "Task 987654 not found", "details": None}
    assert zh == {"code": "not_found", "message": "任务 987654 不存在", "details": None}
    # Without the header: English, and it says so.
    assert error(client.get("/api/v1/tasks/987654"), 404, "en")["message"] == "Task 987654 not found"


def test_409_keeps_the_name_as_given(client: TestClient) -> None:
    body = {"name": "i18n twin", "script": "disk_usage", "params": {"path": "/var"}}
    assert client.post("/api/v1/tasks", json=body).status_code == 201
    en = error(client.post("/api/v1/tasks", json=body, headers=EN), 409, "en")
    zh = error(client.post("/api/v1/tasks", json=body, headers=ZH), 409, "zh-CN")
    assert (en["code"], en["message"]) == ("conflict", "A task named 'i18n twin' already exists")
    assert (zh["code"], zh["message"]) == ("conflict", "名为 'i18n twin' 的任务已存在")


def test_422_words_each_pydantic_error_type_and_keeps_field_paths(client: TestClient) -> None:
    body = {"description": "x" * 4001, "script": 5, "schedule": None, "colour": "red"}
    en = error(client.post("/api/v1/tasks", json=body, headers=EN), 422, "en")
    zh = error(client.post("/api/v1/tasks", json=body, headers=ZH), 422, "zh-CN")
    assert (en["code"], en["message"]) == ("invalid_input", "Invalid input")
    assert (zh["code"], zh["message"]) == ("invalid_input", "输入无效")
    assert {d["field"]: d["reason"] for d in en["details"]} == {
        "body.name": "Field required",
        "body.description": "String should have at most 4000 characters",
        "body.script": "Input should be a valid string",
        "body.colour": "Extra inputs are not permitted",
    }
    assert {d["field"]: d["reason"] for d in zh["details"]} == {
        "body.name": "必填字段",
        "body.description": "最多 4000 个字符",
        "body.script": "应为字符串",
        "body.colour": "不允许额外的字段",
    }


def test_422_pattern_bounds_parsing_and_literals_in_chinese(client: TestClient) -> None:
    bad_name = error(
        client.post("/api/v1/tasks", json={"name": "-x", "script": "disk_usage"}, headers=ZH), 422, "zh-CN"
    )
    assert bad_name["details"] == [{"field": "body.name", "reason": "应匹配模式 '^[A-Za-z0-9][A-Za-z0-9 _.-]{0,127}$'"}]
    query = error(client.get("/api/v1/tasks?limit=0&offset=x&order_by=size", headers=ZH), 422, "zh-CN")
    reasons = {d["field"]: d["reason"] for d in query["details"]}
    assert reasons["query.limit"] == "应大于或等于 1"
    assert reasons["query.offset"] == "应为整数，无法将字符串解析为整数"
    assert reasons["query.order_by"].startswith("应为 'name', '-name'")
    assert reasons["query.order_by"].endswith(" 或 '-id'")
    # A validator of ylai's own words its reason with a key too.
    both = {"name": "two targets", "script": "disk_usage", "dag_id": "x"}
    en = error(client.post("/api/v1/tasks", json=both, headers=EN), 422, "en")
    zh = error(client.post("/api/v1/tasks", json=both, headers=ZH), 422, "zh-CN")
    assert en["details"] == [{"field": "body", "reason": "give exactly one of 'script', 'pipeline' or 'dag_id'"}]
    assert zh["details"] == [{"field": "body", "reason": "'script'、'pipeline' 和 'dag_id' 必须且只能给出一个"}]


def test_422_from_the_domain_translates_reason_and_message(client: TestClient) -> None:
    body = {"name": "unknown param", "script": "disk_usage", "params": {"nope": 1}}
    en = error(client.post("/api/v1/tasks", json=body, headers=EN), 422, "en")
    zh = error(client.post("/api/v1/tasks", json=body, headers=ZH), 422, "zh-CN")
    assert en["message"] == "Invalid params"
    assert en["details"] == [{"field": "params.nope", "reason": "not a parameter of this DAG"}]
    assert zh["message"] == "参数无效"
    assert zh["details"] == [{"field": "params.nope", "reason": "不是此 DAG 的参数"}]


class DenyTasks:
    """An auth manager that lets nobody create ylai Tasks; everything else as the real one."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def is_authorized_custom_view(self, *, method: str, resource_name: str, user: Any) -> bool:
        if (method, resource_name) == ("POST", "ylai Tasks"):
            return False
        return bool(self.real.is_authorized_custom_view(method=method, resource_name=resource_name, user=user))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_403_translates_the_verb_not_the_resource(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from ylai_plugin.domain import access

    manager = DenyTasks(access.auth_manager())
    monkeypatch.setattr(access, "auth_manager", lambda: manager)
    body = {"name": "denied", "script": "disk_usage"}
    en = error(client.post("/api/v1/tasks", json=body, headers=EN), 403, "en")
    zh = error(client.post("/api/v1/tasks", json=body, headers=ZH), 403, "zh-CN")
    assert (en["code"], en["message"]) == ("forbidden", "You may not create ylai Tasks")
    assert (zh["code"], zh["message"]) == ("forbidden", "你无权创建 ylai Tasks")


def test_401_and_airflows_403_for_a_bad_token(airflow_db: object) -> None:
    with TestClient(create_app()) as anonymous:
        en = error(anonymous.get("/api/v1/tasks", headers=EN), 401, "en")
        zh = error(anonymous.get("/api/v1/tasks", headers=ZH), 401, "zh-CN")
        assert (en["code"], en["message"]) == ("unauthenticated", "Not authenticated")
        assert (zh["code"], zh["message"]) == ("unauthenticated", "未通过身份验证：请登录或提供 Bearer 令牌")
        forged = {"Authorization": "Bearer not.a.jwt"}
        en = error(anonymous.get("/api/v1/tasks", headers={**forged, **EN}), 403, "en")
        zh = error(anonymous.get("/api/v1/tasks", headers={**forged, **ZH}), 403, "zh-CN")
        assert (en["code"], en["message"]) == ("forbidden", "Invalid JWT token")
        assert (zh["code"], zh["message"]) == ("forbidden", "JWT 令牌无效，请重新登录")


@pytest.mark.parametrize(
    ("accept", "language"),
    [
        ("en;q=0.5, zh-CN;q=0.9", "zh-CN"),
        ("zh-CN;q=0.1, en", "en"),
        ("zh-Hans-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("fr-FR, de;q=0.9", "en"),
    ],
)
def test_the_highest_q_value_wins_over_the_app(client: TestClient, accept: str, language: str) -> None:
    assert error(client.get("/api/v1/tasks/987654", headers={"Accept-Language": accept}), 404, language)


def test_an_unknown_route_and_airflow_sentences_are_led_in_chinese(client: TestClient) -> None:
    zh = error(client.get("/api/v1/no-such-thing", headers=ZH), 404, "zh-CN")
    assert zh["message"] == "未找到"
    # A sentence no catalog knows keeps its words, led by what its status means.
    response = envelope(503, "Swagger UI is not built", language="zh-CN")
    assert response.headers["content-language"] == "zh-CN"
    assert b"\xe6\x9c\x8d\xe5\x8a\xa1\xe4\xb8\x8d\xe5\x8f\xaf\xe7\x94\xa8\xef\xbc\x9aSwagger UI is not built" in bytes(
        response.body
    )


def test_429_words_the_wait() -> None:
    exc = ApiError(429, text("rate_limited", "Too many requests; retry in {seconds} s", seconds=3))
    assert str(exc) == "Too many requests; retry in 3 s"
    assert isinstance(exc.message, Text)
    assert translator("zh-CN")(exc.message) == "请求过多；请在 3 秒后重试"


# ---------------------------------------------------------------- negotiation


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("", "en"),
        ("zh-CN", "zh-CN"),
        ("zh", "zh-CN"),
        ("zh-TW", "zh-CN"),  # ylai has Simplified Chinese only: still closer than English
        ("ZH-cn", "zh-CN"),
        ("en-US", "en"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("en;q=0.3, zh;q=0.7", "zh-CN"),
        ("zh-CN, en", "zh-CN"),  # equal q: the one named first
        ("en, zh-CN", "en"),
        ("*", "en"),
        ("zh;q=0, *", "en"),  # q=0: not acceptable
        ("en;q=0, *;q=0.5", "zh-CN"),
        ("zh;q=0.8, zh-CN;q=0", "en"),  # the most specific range decides
        ("fr", "en"),  # nothing we have: the default
        ("zh-CN;q=abc, en;q=0.2", "en"),  # a malformed entry is left out
        ("zh-CN;q=2", "en"),
        ("zh-CN;q=0.001", "zh-CN"),
        (";;,, ,zh", "zh-CN"),
    ],
)
def test_negotiate(header: str | None, language: str) -> None:
    assert negotiate(header) == language


# ---------------------------------------------------------------- the catalog against the code


def _text_calls() -> Iterator[tuple[Path, int, str, str]]:
    """``text("key", "template", ...)`` calls of modules that import ``text`` from the domain's errors."""
    for path in sorted(PLUGIN.rglob("*.py")):
        if "ui" in path.relative_to(PLUGIN).parts[:1]:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = any(
            isinstance(node, ast.ImportFrom)
            and node.module == "ylai_plugin.domain.errors"
            and any(alias.name == "text" for alias in node.names)
            for node in ast.walk(tree)
        )
        if not imported and path.name != "errors.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "text":
                key, template = node.args[0], node.args[1]
                if isinstance(key, ast.Constant) and isinstance(template, ast.Constant):
                    yield path, node.lineno, str(key.value), str(template.value)
                    continue
                # The one computed key: text(f"http.{status}", <its phrase>), for any status code.
                http = isinstance(key, ast.JoinedStr) and ast.literal_eval(key.values[0]) == "http."
                assert http, f"{path}:{node.lineno}: text() needs a literal key and template"


def test_every_key_the_code_words_has_a_chinese_wording_over_the_same_values() -> None:
    seen: dict[str, str] = {}
    calls = list(_text_calls())
    assert len(calls) > 40, "the scan found the calls"
    for path, line, key, template in calls:
        assert seen.setdefault(key, template) == template, f"{path}:{line}: key {key!r} with two English texts"
        assert key in messages_zh.MESSAGES, f"{path}:{line}: no Chinese wording for {key!r}"
        assert placeholders(messages_zh.MESSAGES[key]) == placeholders(template), f"{path}:{line}: {key!r}"
    for detail, known in KNOWN_DETAILS.items():
        assert str(known) == detail
        assert known.key in messages_zh.MESSAGES
    unused = {k for k in messages_zh.MESSAGES if not k.startswith("validation.")} - set(seen)
    assert not unused, f"Chinese wordings no code uses: {sorted(unused)}"


def test_every_term_the_code_uses_is_translated() -> None:
    from ylai_plugin.domain import access

    kinds = set()
    for path in PLUGIN.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "not_found" and node.args:
                first = node.args[0]
                assert isinstance(first, ast.Constant), f"{path}:{node.lineno}: not_found() needs a literal kind"
                kinds.add(first.value)
    assert {"Task", "Preset", "Alert rule", "Export job"} <= kinds
    for term in kinds | set(access.ACTIONS):
        assert term in messages_zh.TERMS, term


class Sample(BaseModel):
    """A model that fails in many of pydantic's ways at once."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2, pattern=r"^[a-z]+$")
    count: int = Field(gt=0, lt=10)
    ratio: float = Field(ge=0, le=1)
    tags: list[str] = Field(min_length=1, max_length=2)
    kind: Literal["a", "b", "c"]
    when: datetime
    flag: bool
    nested: dict[str, int]


@pytest.mark.parametrize(
    ("data", "field", "expected"),
    [
        ({"name": "x"}, "name", "至少需要 2 个字符"),
        ({"name": "AB"}, "name", "应匹配模式 '^[a-z]+$'"),
        ({"count": 0}, "count", "应大于 0"),
        ({"count": 10}, "count", "应小于 10"),
        ({"count": 1.5}, "count", "应为整数，不能带小数部分"),
        ({"ratio": 2}, "ratio", "应小于或等于 1"),
        ({"ratio": "much"}, "ratio", "应为数字，无法将字符串解析为数字"),
        ({"tags": []}, "tags", "至少需要 1 项，实际为 0 项"),
        ({"tags": ["a", "b", "c"]}, "tags", "最多 2 项，实际为 3 项"),
        ({"tags": "a"}, "tags", "应为列表"),
        ({"kind": "d"}, "kind", "应为 'a', 'b' 或 'c'"),
        ({"flag": "perhaps"}, "flag", "应为布尔值，无法识别输入"),
        ({"nested": []}, "nested", "应为对象"),
        ({"extra": 1}, "extra", "不允许额外的字段"),
        ({}, "name", "必填字段"),
    ],
)
def test_pydantic_reasons_by_type(data: dict[str, Any], field: str, expected: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Sample.model_validate(data)
    reasons = {".".join(str(p) for p in e["loc"]): validation_reason(e) for e in caught.value.errors()}
    reason = reasons[field]
    assert str(reason) == next(e["msg"] for e in caught.value.errors() if e["loc"][0] == field)  # English as before
    assert translator("zh-CN")(reason) == expected


def test_datetime_reason_keeps_pydantics_detail() -> None:
    with pytest.raises(ValidationError) as caught:
        Sample.model_validate({"when": "yesterday"})
    reason = next(validation_reason(e) for e in caught.value.errors() if e["loc"] == ("when",))
    assert translator("zh-CN")(reason) == "应为有效的日期时间或日期（input is too short）"


def test_unknown_keys_and_bad_catalog_entries_fall_back_to_english(monkeypatch: pytest.MonkeyPatch) -> None:
    zh = translator("zh-CN")
    assert zh(text("no.such.key", "Left {n} as is", n=1)) == "Left 1 as is"
    monkeypatch.setitem(messages_zh.MESSAGES, "broken", "缺少 {other}")
    assert zh(text("broken", "Needs {value}", value=1)) == "Needs 1"
    # Braces in a sentence pydantic finished are not placeholders.
    odd = validation_reason({"type": "value_error", "msg": "Value error, use {x} literally", "ctx": {"error": "e"}})
    assert str(odd) == "use {x} literally"
    assert zh(odd) == "use {x} literally"


def test_domain_errors_keep_their_english_and_carry_their_texts() -> None:
    reason = text("field.cannot_be_null", "cannot be null")
    exc = Invalid.at("body.name", reason)
    assert exc.message == "Invalid input"
    assert exc.details == exc.problems == [{"field": "body.name", "reason": "cannot be null"}]
    message, details = exc.localized(translator("zh-CN"))
    assert message == "输入无效"
    assert details == [{"field": "body.name", "reason": "不能为 null"}]
    assert localized({"a": [reason, 1, "x"]}) == {"a": ["cannot be null", 1, "x"]}
    assert isinstance(Term("Task"), str)
    assert Text("k", "{a}-{b}", {"a": 1, "b": "x"}).__str__() == "1-x"
