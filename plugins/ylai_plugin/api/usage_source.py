"""Where an API call came from, for usage statistics: ylai's pages (``X-Ylai-Source: ui``) or anything else.

The UI sends the header on its calls; scripts, CLIs and other clients do not, and count as ``api``.
A dependency rather than a header parameter: it stays out of each operation's documented
parameters (it changes nothing of what a call does).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ylai_plugin.domain import usage


def call_source(request: Request) -> str:
    """``ui`` or ``api``, from the request's :data:`~ylai_plugin.domain.usage.SOURCE_HEADER`."""
    return usage.source_of(request.headers.get(usage.SOURCE_HEADER))


SourceDep = Annotated[str, Depends(call_source)]
