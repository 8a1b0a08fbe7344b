"""The language of an error answer: ``Accept-Language`` negotiation and the catalogs' lookup.

ylai answers in English (the default) or Simplified Chinese (``zh-CN``). Only sentences for
people change: error codes, field paths and values stay as they are. Sentences are
:class:`~ylai_plugin.domain.errors.Text` (a key, the English template, its values); a language
other than English words a key with its catalog (:mod:`ylai_plugin.api.messages_zh`) and falls
back to the English sentence for a key it does not know.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, Literal

from ylai_plugin.api import messages_zh
from ylai_plugin.domain.errors import Term, Text

Language = Literal["en", "zh-CN"]
DEFAULT: Language = "en"
# The languages by primary subtag: any "zh" range (zh, zh-CN, zh-Hans, zh-TW, ...) gets the one
# Chinese ylai has, Simplified; any "en" range English.
_BY_PRIMARY: dict[str, Language] = {"en": "en", "zh": "zh-CN"}
# Specificity of a range's match to a language: the most specific matching range sets its q.
_EXACT, _PRIMARY, _WILDCARD = 3, 2, 1


def _ranges(header: str) -> list[tuple[str, float]]:
    """``Accept-Language``'s language ranges with their q-values, in the header's order.

    A malformed entry (a bad q-value, an empty range) is left out, as RFC 9110 lets a server do.
    """
    ranges = []
    for item in header.split(","):
        tag, *params = (part.strip() for part in item.split(";"))
        if not tag or any(not (c.isalnum() or c in "-*") for c in tag):
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = -1.0
        if 0.0 <= q <= 1.0:
            ranges.append((tag.lower(), q))
    return ranges


def negotiate(header: str | None) -> Language:
    """The language to answer in for an ``Accept-Language`` header (``None``: none was sent).

    Each language gets the q-value of the most specific range that matches it (``zh-CN``, then
    ``zh``/``zh-TW``, then ``*``); ``q=0`` rules a language out. The highest q wins; on a tie the
    range named first in the header; when nothing matches, English.
    """
    if not header:
        return DEFAULT
    ranges = _ranges(header)
    best: tuple[float, int, Language] | None = None
    for language in ("en", "zh-CN"):
        match: tuple[int, float, int] | None = None  # (specificity, q, position)
        for position, (tag, q) in enumerate(ranges):
            if tag == language.lower():
                specificity = _EXACT
            elif _BY_PRIMARY.get(tag.split("-")[0]) == language:
                specificity = _PRIMARY
            elif tag == "*":
                specificity = _WILDCARD
            else:
                continue
            if match is None or specificity > match[0]:
                match = (specificity, q, position)
        if match is None or match[1] <= 0:
            continue
        _, q, position = match
        if best is None or q > best[0] or (q == best[0] and position < best[1]):
            best = (q, position, language)
    return best[2] if best else DEFAULT


def placeholders(template: str) -> set[str]:
    """The values a template names (``"{kind} {key!r} not found"`` → ``{"kind", "key"}``)."""
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template) if name}


def _zh(message: Text) -> str:
    template = messages_zh.MESSAGES.get(message.key)
    if template is None:
        return str(message)
    values: dict[str, Any] = {
        name: messages_zh.TERMS.get(value, value) if isinstance(value, Term) else messages_zh.value(name, value)
        for name, value in message.params.items()
    }
    try:
        return template.format_map(values)
    except (KeyError, IndexError, ValueError):  # a catalog entry that does not fit: English, not a 500
        return str(message)


def translator(language: Language) -> Callable[[Text], str]:
    """The function that words a :class:`Text` in ``language``."""
    return _zh if language == "zh-CN" else str


def status_phrase(status: int, language: Language) -> str:
    """What a status code means, for people (``Not Found``, ``未找到``)."""
    try:
        english = HTTPStatus(status).phrase
    except ValueError:
        english = "Error"
    return messages_zh.STATUS.get(status, english) if language == "zh-CN" else english


def untranslated(message: str, status: int, language: Language) -> str:
    """A sentence no catalog knows (Airflow's, a library's): in Chinese, led by its status' meaning."""
    if language == "en":
        return message
    return f"{status_phrase(status, language)}：{message}"  # noqa: RUF001 - Chinese punctuation
