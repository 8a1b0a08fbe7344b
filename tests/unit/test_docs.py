"""The user guide exists in English and Simplified Chinese, and the two cannot drift apart silently.

Every ``docs/*.md`` page has a twin ``docs/zh-CN/<same name>.md``:

- the English page starts with a link to its twin, and the twin links back;
- the twin has the same level-2 headings (by count) and the same fenced code blocks (same
  language and content: code and identifiers are never translated), so a section or an example
  added to one page and not to the other fails here;
- the twin's prose is Chinese (a share of CJK characters among the letters outside code);
- every relative link of both resolves to an existing file, and its ``#anchor`` (if any) to a
  heading of the target; a twin links to the Chinese pages, not the English ones;
- each ``README.md`` (the page list) links every page of its folder.

The checks are plain functions over text, so the last tests can prove each one fails on a
deliberately broken page.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
ZH = DOCS / "zh-CN"
ENGLISH_PAGES = sorted(p.name for p in DOCS.glob("*.md"))
# The twin's prose: at least this share of its letters are CJK characters. Chinese technical text
# keeps product names (Airflow, Slack, API) in Latin letters, but a page that is mostly English,
# an untranslated copy, is far below it (English pages have none).
MIN_CJK_SHARE = 0.5

_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
_EXTERNAL = ("http://", "https://", "mailto:")


@dataclass(frozen=True)
class Page:
    """A Markdown page split into what the checks need."""

    path: Path
    prose: list[str]  # lines outside fenced code blocks
    code_blocks: list[tuple[str, str]]  # (info string, dedented content)
    headings: list[tuple[int, str]]  # (level, text) outside code blocks


def parse(path: Path, text: str | None = None) -> Page:
    """Split a Markdown page into prose lines, fenced code blocks and headings."""
    lines = (path.read_text(encoding="utf-8") if text is None else text).splitlines()
    prose: list[str] = []
    blocks: list[tuple[str, str]] = []
    headings: list[tuple[int, str]] = []
    fence: str | None = None
    info = ""
    body: list[str] = []
    for line in lines:
        match = _FENCE.match(line)
        if fence is None:
            if match:
                fence, info, body = match.group(2), match.group(3).strip(), []
                continue
            prose.append(line)
            if heading := _HEADING.match(line):
                headings.append((len(heading.group(1)), heading.group(2)))
        elif match and match.group(2).startswith(fence) and not match.group(3).strip():
            blocks.append((info, textwrap.dedent("\n".join(body))))
            fence = None
        else:
            body.append(line)
    assert fence is None, f"{path}: a code block is never closed"
    return Page(path, prose, blocks, headings)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = _INLINE_CODE.sub(lambda m: m.group(0).strip("`"), heading).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Page) -> set[str]:
    """Every heading anchor of ``page``, with GitHub's ``-1``, ``-2`` suffixes for repeats."""
    seen: dict[str, int] = {}
    out = set()
    for _, text in page.headings:
        base = slug(text)
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.add(base if count == 0 else f"{base}-{count}")
    return out


def links(page: Page) -> list[str]:
    """The link targets of the page's prose (not of code blocks or inline code)."""
    found = []
    for line in page.prose:
        found += _LINK.findall(_INLINE_CODE.sub("", line))
    return found


def link_problems(page: Page) -> list[str]:
    """Relative links of ``page`` whose file or ``#anchor`` does not exist."""
    problems = []
    for target in links(page):
        if target.startswith(_EXTERNAL):
            continue
        file_part, _, fragment = target.partition("#")
        resolved = (page.path.parent / file_part).resolve() if file_part else page.path
        if not resolved.exists():
            problems.append(f"{page.path.name}: {target}: no such file")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(parse(resolved)):
            problems.append(f"{page.path.name}: {target}: no heading with anchor #{fragment}")
    return problems


def english_links_of_twin(page: Page) -> list[str]:
    """Links of a Chinese page (``docs/zh-CN/x.md``) to English pages, beyond the one back to its own twin."""
    back = f"../{page.path.name}"
    out = []
    for target in links(page):
        file_part = target.partition("#")[0]
        if target.startswith(_EXTERNAL) or not file_part.endswith(".md") or file_part == back:
            continue
        resolved = (page.path.parent / file_part).resolve()
        if resolved.parent == page.path.parent.parent.resolve():  # the English pages' folder
            out.append(target)
    return out


def cjk_share(page: Page) -> float:
    """CJK characters among the letters of the prose, outside code and link targets."""
    text = "\n".join(page.prose)
    text = _INLINE_CODE.sub(" ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    return cjk / (cjk + latin) if cjk + latin else 0.0


def twin_problems(english: Page, chinese: Page) -> list[str]:
    """How ``chinese`` fails to be a complete twin of ``english``."""
    name = english.path.name
    problems = []
    first = next((line for line in english.prose if line.strip()), "")
    if first != f"[中文](zh-CN/{name})":
        problems.append(f"{name}: the first line should link its twin: [中文](zh-CN/{name}), not {first!r}")
    if f"../{name}" not in links(chinese):
        problems.append(f"zh-CN/{name}: no link back to ../{name}")
    level2 = [len([h for h in page.headings if h[0] == 2]) for page in (english, chinese)]
    if level2[0] != level2[1]:
        problems.append(f"zh-CN/{name}: {level2[1]} level-2 headings, the English page has {level2[0]}")
    if len(english.code_blocks) != len(chinese.code_blocks):
        problems.append(
            f"zh-CN/{name}: {len(chinese.code_blocks)} code blocks, the English page has {len(english.code_blocks)}"
        )
    else:
        for i, (en_block, zh_block) in enumerate(zip(english.code_blocks, chinese.code_blocks, strict=True)):
            if en_block != zh_block:
                problems.append(f"zh-CN/{name}: code block {i + 1} differs from the English page's")
    share = cjk_share(chinese)
    if share < MIN_CJK_SHARE:
        problems.append(
            f"zh-CN/{name}: only {share:.0%} of the prose's letters are Chinese (at least {MIN_CJK_SHARE:.0%})"
        )
    problems += [f"zh-CN/{name}: links the English page {t}" for t in english_links_of_twin(chinese)]
    return problems


def index_problems(index: Page) -> list[str]:
    """Pages of the index's folder that its page list does not link."""
    linked = {(index.path.parent / t.partition("#")[0]).resolve() for t in links(index)}
    pages = sorted(p for p in index.path.parent.glob("*.md") if p != index.path)
    where = f"{index.path.parent.name}/{index.path.name}"
    return [f"{where} does not list {p.name}" for p in pages if p.resolve() not in linked]


# ------------------------------------------------------------------------------ the real docs


def test_every_english_page_has_a_chinese_twin_and_no_twin_is_orphaned() -> None:
    assert ENGLISH_PAGES, "no docs/*.md found"
    twins = sorted(p.name for p in ZH.glob("*.md"))
    missing = sorted(set(ENGLISH_PAGES) - set(twins))
    orphans = sorted(set(twins) - set(ENGLISH_PAGES))
    assert not missing, f"pages without a Chinese twin in docs/zh-CN/: {missing}"
    assert not orphans, f"docs/zh-CN/ pages without an English page: {orphans}"


@pytest.mark.parametrize("name", ENGLISH_PAGES)
def test_twin_keeps_up_with_the_english_page(name: str) -> None:
    twin = ZH / name
    assert twin.is_file(), f"docs/zh-CN/{name} is missing"
    problems = twin_problems(parse(DOCS / name), parse(twin))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", [*(DOCS / n for n in ENGLISH_PAGES), *sorted(ZH.glob("*.md"))], ids=str)
def test_relative_links_resolve(path: Path) -> None:
    problems = link_problems(parse(path))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("index", [DOCS / "README.md", ZH / "README.md"], ids=["en", "zh-CN"])
def test_the_page_list_links_every_page(index: Path) -> None:
    problems = index_problems(parse(index))
    assert not problems, "\n".join(problems)
    assert "zh-CN/README.md" in links(parse(DOCS / "README.md")), "docs/README.md should point to the Chinese pages"


# ------------------------------------------------------------------- the checks can fail

EN = """[中文](zh-CN/demo.md)

# Demo

Some prose about `make run`.

## First

```bash
make run
```

## Second

See [the other section](#first).
"""

ZH_OK = """[English](../demo.md)

# 演示

关于 `make run` 的一些说明文字全部使用中文书写。

## 第一节

```bash
make run
```

## 第二节

参见[上一节](#第一节)。
"""


def _pair(tmp_path: Path, en: str, zh: str) -> tuple[Page, Page]:
    (tmp_path / "zh-CN").mkdir(exist_ok=True)
    en_path, zh_path = tmp_path / "demo.md", tmp_path / "zh-CN" / "demo.md"
    en_path.write_text(en, encoding="utf-8")
    zh_path.write_text(zh, encoding="utf-8")
    return parse(en_path), parse(zh_path)


def test_a_faithful_twin_passes(tmp_path: Path) -> None:
    english, chinese = _pair(tmp_path, EN, ZH_OK)
    assert twin_problems(english, chinese) == []
    assert link_problems(english) == []
    assert link_problems(chinese) == []


def test_a_twin_that_lags_behind_fails(tmp_path: Path) -> None:
    lagging = ZH_OK.replace("## 第二节\n", "").replace("```bash\nmake run\n```\n", "")
    english, chinese = _pair(tmp_path, EN, lagging)
    problems = twin_problems(english, chinese)
    assert any("1 level-2 headings, the English page has 2" in p for p in problems), problems
    assert any("0 code blocks, the English page has 1" in p for p in problems), problems


def test_a_changed_code_block_fails(tmp_path: Path) -> None:
    english, chinese = _pair(tmp_path, EN, ZH_OK.replace("make run\n```", "make test\n```"))
    assert twin_problems(english, chinese) == ["zh-CN/demo.md: code block 1 differs from the English page's"]


def test_an_untranslated_twin_fails(tmp_path: Path) -> None:
    english, chinese = _pair(tmp_path, EN, EN.replace("[中文](zh-CN/demo.md)", "[English](../demo.md)"))
    problems = twin_problems(english, chinese)
    assert any("of the prose's letters are Chinese" in p for p in problems), problems


def test_missing_twin_links_fail(tmp_path: Path) -> None:
    english, chinese = _pair(
        tmp_path, EN.replace("[中文](zh-CN/demo.md)\n", ""), ZH_OK.replace("[English](../demo.md)", "")
    )
    problems = twin_problems(english, chinese)
    assert any("the first line should link its twin" in p for p in problems), problems
    assert "zh-CN/demo.md: no link back to ../demo.md" in problems


def test_broken_links_and_anchors_fail(tmp_path: Path) -> None:
    english, chinese = _pair(
        tmp_path,
        EN + "\n[gone](missing.md) and [nowhere](#no-such-heading) but [fine](https://example.com/x.md)\n",
        ZH_OK.replace("(#第一节)", "(#first)"),
    )
    assert link_problems(english) == [
        "demo.md: missing.md: no such file",
        "demo.md: #no-such-heading: no heading with anchor #no-such-heading",
    ]
    assert link_problems(chinese) == ["demo.md: #first: no heading with anchor #first"]


def test_a_twin_linking_english_pages_fails(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other\n", encoding="utf-8")
    english, chinese = _pair(tmp_path, EN, ZH_OK + "\n另见[其他页面](../other.md)。\n")
    assert "zh-CN/demo.md: links the English page ../other.md" in twin_problems(english, chinese)


def test_an_index_missing_a_page_fails(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("# B\n", encoding="utf-8")
    index = tmp_path / "README.md"
    index.write_text("# Pages\n\n- [A](a.md)\n- `[B](b.md)` is only code\n", encoding="utf-8")
    problems = [p.rsplit(" ", 1)[-1] for p in index_problems(parse(index))]
    assert problems == ["b.md"]


def test_headings_and_links_inside_code_blocks_do_not_count(tmp_path: Path) -> None:
    page = parse(tmp_path / "x.md", "# T\n\n  ```yaml\n  ## not a heading\n  [x](nowhere.md)\n  ```\n## Real\n")
    assert page.headings == [(1, "T"), (2, "Real")]
    assert links(page) == []
    assert page.code_blocks == [("yaml", "## not a heading\n[x](nowhere.md)")]


def test_slugs_follow_github() -> None:
    assert slug("Adding a condition") == "adding-a-condition"
    assert slug("Shorthand in manifests and pipeline YAML") == "shorthand-in-manifests-and-pipeline-yaml"
    assert slug("`script_operator_overhead.py`") == "script_operator_overheadpy"
    assert slug("添加一种条件\uff084 个文件\uff09") == "添加一种条件4-个文件"  # full-width parentheses
