"""Where an API call came from, for usage statistics: ylai's pages (``X-Ylai-Source: ui``) or anything else.

The UI sends the header on its calls; scripts, CLIs and other clients do not, and count as ``api``.
A download link the UI opens (an export's CSV) is a browser navigation, which carries no header of
ours: the browser's own ``Sec-Fetch-Mode: navigate`` and ``Sec-Fetch-Site: same-origin`` (which
pages cannot set) say it was followed from a page of this site, so it counts as ``ui`` too; the same
URL typed into the address bar says ``Sec-Fetch-Site: none`` and counts as ``api``.
A dependency rather than a header parameter: it stays out of each operation's documented
parameters (it changes nothing of what a call does).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ylai_plugin.domain import usage


def call_source(request: Request) -> str:
    """``ui`` or ``api``, from the request's :data:`~ylai_plugin.domain.usage.SOURCE_HEADER`."""
    headers = request.headers
    if usage.SOURCE_HEADER not in headers and (
        headers.get("sec-fetch-mode") == "navigate" and headers.get("sec-fetch-site") == "same-origin"
    ):
        return "ui"
    return usage.source_of(headers.get(usage.SOURCE_HEADER))


SourceDep = Annotated[str, Depends(call_source)]
