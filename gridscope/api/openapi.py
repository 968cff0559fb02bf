"""The OpenAPI 3.1 document, generated from the endpoint registry and the pydantic models."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from . import models as m
from .endpoints import ENDPOINTS, PREFIX, Endpoint
from .parsing import IDEMPOTENCY_HEADER

REF = "#/components/schemas/{model}"
_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def openapi_path(rule: str) -> str:
    """A Flask rule as an OpenAPI path template: ``/tickets/<int:id>`` → ``/tickets/{id}``."""
    return PREFIX + _PARAM.sub(lambda mt: "{" + mt.group(2) + "}", rule)


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter cannot be JSON null: drop the null branch of an optional field."""
    schema = {k: v for k, v in schema.items() if k not in ("title", "default", "description")}
    if "anyOf" in schema:
        branches = [b for b in schema["anyOf"] if b != {"type": "null"}]
        if len(branches) == 1:
            rest = {k: v for k, v in schema.items() if k != "anyOf"}
            schema = {**branches[0], **rest}
    return schema


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", ()))
    out = []
    for name, prop in schema["properties"].items():
        param = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": _without_null(prop),
        }
        if "description" in prop:
            param["description"] = prop["description"]
        out.append(param)
    return out


# Path parameters that are not integers, by name: what the view accepts (anything else is 404).
_PATH_SCHEMAS: dict[str, dict[str, Any]] = {
    "code": {"type": "string", "pattern": "^[0-9]{2}([0-9]{2})?$"},  # an item-list entry
}


def _path_parameters(rule: str) -> list[dict[str, Any]]:
    out = []
    for conv, name in _PARAM.findall(rule):
        schema: dict[str, Any] = dict(_PATH_SCHEMAS.get(name, {"type": "string"}))
        if conv == "int":
            schema = {"type": "integer", "minimum": 1, "maximum": m.BIGINT_MAX}
        out.append({"name": name, "in": "path", "required": True, "schema": schema})
    return out


def _content(spec: Any) -> dict[str, Any] | None:
    if spec is None:
        return None
    if isinstance(spec, type) and issubclass(spec, BaseModel):
        return {"application/json": {"schema": {"$ref": REF.format(model=spec.__name__)}}}
    return {"application/json": {"schema": spec}}


def _operation(ep: Endpoint, max_body: int) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": ep.name, "summary": ep.summary, "tags": list(ep.tags)}
    if ep.description:
        op["description"] = ep.description
    params = _path_parameters(ep.rule)
    if ep.query is not None:
        params += _query_parameters(ep.query)
    if ep.idempotency_key:
        params.append(
            {
                "name": IDEMPOTENCY_HEADER,
                "in": "header",
                "required": False,
                "description": "Makes the request idempotent: the same key and body within "
                "this token replay the first response (header Idempotent-Replayed: true); the same "
                "key with another body is refused (422).",
                "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"},
            }
        )
    if params:
        op["parameters"] = params
    if ep.body is not None:
        op["requestBody"] = {
            "required": True,
            "description": f"JSON in UTF-8, at most {max_body} bytes.",
            "content": _content(ep.body),
        }
    responses: dict[str, Any] = {}
    for status, description, spec in ep.ok:
        resp: dict[str, Any] = {"description": description}
        if ep.name == "docs":
            resp["content"] = {"text/html": {"schema": {"type": "string"}}}
        elif (content := _content(spec)) is not None:
            resp["content"] = content
        responses[str(status)] = resp
    for status, description in ep.errors:
        responses[str(status)] = {"description": description, "content": _content(m.Error)}
    op["responses"] = responses
    if ep.auth == "none":
        op["security"] = []
    return op


def build_openapi(max_body: int) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every endpoint in ``ENDPOINTS``."""
    request_models = {ep.body for ep in ENDPOINTS if ep.body is not None}
    response_models = {
        spec
        for ep in ENDPOINTS
        for _, _, spec in ep.ok
        if isinstance(spec, type) and issubclass(spec, BaseModel)
    }
    response_models |= {m.Error, m.Service}
    pairs = [(model, "validation") for model in sorted(request_models, key=lambda c: c.__name__)]
    pairs += [
        (model, "serialization") for model in sorted(response_models, key=lambda c: c.__name__)
    ]
    _, defs = models_json_schema(pairs, ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for ep in ENDPOINTS:
        paths.setdefault(openapi_path(ep.rule), {})[ep.method.lower()] = _operation(ep, max_body)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "gridscope ingest API",
            "version": "1.0.0",
            "description": (
                "Tickets, transitions and worker positions for grid-based service management "
                "(网格化服务管理). Authenticate with `Authorization: Bearer <token>` (created by "
                "`gridscope token create`); each token is bound to a jurisdiction (a region or "
                "grid code prefix) and sees nothing outside it. Errors are JSON: "
                '`{"error": {"status", "message", "fields": [{"field", "problem"}]}}`.'
            ),
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token: gs_<prefix>_<secret>.",
                }
            },
        },
        "security": [{"bearer": []}],
    }
