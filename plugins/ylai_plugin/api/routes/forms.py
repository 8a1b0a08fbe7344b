"""``/forms/{dag_id}/options/{param}``: the live options of a run form's field (``options_from:``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ylai_plugin.api.datamodels.forms import OptionsAnswer
from ylai_plugin.api.errors import ErrorResponse
from ylai_plugin.api.listing import PreRenderedJSON
from ylai_plugin.api.security import UserDep
from ylai_plugin.domain import form_options

router = APIRouter(prefix="/forms", tags=["forms"])

ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorResponse, "description": "The caller may not read the DAG."},
    404: {"model": ErrorResponse, "description": "No such script or pipeline DAG, or the param has no `options_from`."},
    422: {
        "model": ErrorResponse,
        "description": "A param the options depend on has no value: `details` is "
        '`[{"field": "<param>", "reason": "needs a value for <other>"}]`.',
    },
}


@router.get("/{dag_id}/options/{param}", response_model=OptionsAnswer, responses=ERRORS)
def get_options(dag_id: str, param: str, request: Request, user: UserDep) -> PreRenderedJSON:
    """The live options of ``param`` of a script's or pipeline's run form, for the other params' values.

    The values of the params it depends on (``depends_on``) go as query parameters
    (``?database=shop``); they reach the source as bound parameters of its query, query
    parameters of its HTTP request or arguments of its script, never as text of a query.
    At most 1000 options (``truncated`` says when there were more), cached for
    ``[ylai] form_options_ttl`` seconds (``cached``). A source that fails or takes longer than
    ``[ylai] form_options_timeout`` seconds answers 503 with ``Retry-After`` and
    ``details: {"field", "source", "reason"}``, the reason a person can read.
    """
    query = request.query_params.multi_items()
    # No session of the request's: the domain opens one only when the answer is not cached.
    body, _ = form_options.options(user, dag_id, param, query)
    return PreRenderedJSON(body)
