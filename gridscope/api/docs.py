"""The human-readable docs page (GET /api/v1/docs): static HTML rendered from the OpenAPI
document, with inline CSS and no external resources (command centres run without internet)."""

from __future__ import annotations

import json
from html import escape
from typing import Any

_CSS = """
body{font:16px/1.5 system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:0;
 background:#0b1526;color:#dce6f2}
main{max-width:1100px;margin:0 auto;padding:24px}
h1,h2,h3{color:#fff}h2{border-top:1px solid #2a3b55;padding-top:20px;margin-top:32px}
code,pre{font:14px/1.45 ui-monospace,Menlo,Consolas,monospace;background:#13233b;
 border-radius:4px}
code{padding:1px 4px}pre{padding:12px;overflow-x:auto}
table{border-collapse:collapse;width:100%;margin:8px 0 16px}
th,td{border:1px solid #2a3b55;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#13233b}.m{display:inline-block;min-width:56px;font-weight:700}
.get{color:#6fd08c}.post{color:#f0b35a}.req{color:#f07a7a}nav a{color:#8cc4ff;margin-right:12px}
a{color:#8cc4ff}
"""


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#schema-{escape(name)}">{escape(name)}</a>'
    if "anyOf" in schema:
        return " | ".join(_type(s) for s in schema["anyOf"])
    if "enum" in schema:
        return "one of " + ", ".join(f"<code>{escape(str(v))}</code>" for v in schema["enum"])
    if "const" in schema:
        return f"<code>{escape(str(schema['const']))}</code>"
    t = schema.get("type", "any")
    if t == "array":
        return f"array of {_type(schema.get('items', {}))}"
    out = escape(str(t))
    if "format" in schema:
        out += f" ({escape(schema['format'])})"
    return out


def _constraints(schema: dict[str, Any]) -> str:
    parts = []
    for branch in schema.get("anyOf", [schema]):
        for key in (
            "minimum",
            "maximum",
            "minLength",
            "maxLength",
            "minItems",
            "maxItems",
            "pattern",
        ):
            if key in branch:
                parts.append(f"{key} <code>{escape(str(branch[key]))}</code>")
    if "default" in schema:
        parts.append(
            f"default <code>{escape(json.dumps(schema['default'], ensure_ascii=False))}</code>"
        )
    return ", ".join(parts)


def _fields_table(schema: dict[str, Any]) -> str:
    required = set(schema.get("required", ()))
    rows = []
    for name, prop in schema.get("properties", {}).items():
        req = '<span class="req">required</span>' if name in required else ""
        rows.append(
            f"<tr><td><code>{escape(name)}</code> {req}</td><td>{_type(prop)}</td>"
            f"<td>{escape(prop.get('description', ''))}</td>"
            f"<td>{_constraints(prop)}</td></tr>"
        )
    return (
        "<table><tr><th>field</th><th>type</th><th>meaning</th><th>constraints</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _curl(method: str, path: str, op: dict[str, Any]) -> str:
    url = "http://127.0.0.1:8050" + path.replace("{ticket_id}", "123")
    lines = [f"curl -sS -X {method.upper()} '{url}'"]
    if op.get("security") != []:
        lines.append('  -H "Authorization: Bearer $GRIDSCOPE_TOKEN"')
    if "requestBody" in op:
        lines.append("  -H 'Content-Type: application/json'")
        lines.append("  -d @body.json")
    return " \\\n".join(lines)


def render_docs(spec: dict[str, Any]) -> bytes:
    """The whole page as UTF-8 bytes."""
    info = spec["info"]
    out = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(info['title'])}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>{escape(info['title'])} <small>{escape(info['version'])}</small></h1>",
        f"<p>{escape(info['description'])}</p>",
        '<p>Machine-readable: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>'
        " (OpenAPI 3.1).</p><nav>",
    ]
    ops = [
        (path, method, op) for path, item in spec["paths"].items() for method, op in item.items()
    ]
    out += [
        f'<a href="#{escape(op["operationId"])}">{escape(op["summary"])}</a>' for _, _, op in ops
    ]
    out.append("</nav>")
    schemas = spec["components"]["schemas"]
    for path, method, op in ops:
        out.append(
            f'<h2 id="{escape(op["operationId"])}"><span class="m {method}">'
            f"{method.upper()}</span> <code>{escape(path)}</code></h2>"
        )
        out.append(f"<p><b>{escape(op['summary'])}</b>. {escape(op.get('description', ''))}</p>")
        auth = "none" if op.get("security") == [] else "Bearer token"
        out.append(f"<p>Authentication: {auth}.</p>")
        if op.get("parameters"):
            out.append(
                "<h3>Parameters</h3><table><tr><th>name</th><th>in</th><th>type</th>"
                "<th>meaning</th><th>constraints</th></tr>"
            )
            for p in op["parameters"]:
                out.append(
                    f"<tr><td><code>{escape(p['name'])}</code></td><td>{p['in']}</td>"
                    f"<td>{_type(p['schema'])}</td>"
                    f"<td>{escape(p.get('description', ''))}</td>"
                    f"<td>{_constraints(p['schema'])}</td></tr>"
                )
            out.append("</table>")
        if "requestBody" in op:
            ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            name = ref.rsplit("/", 1)[-1]
            out.append(
                f"<h3>Body: {escape(name)}</h3><p>{escape(op['requestBody']['description'])}</p>"
            )
            out.append(_fields_table(schemas[name]))
        out.append("<h3>Responses</h3><table><tr><th>status</th><th>meaning</th><th>body</th></tr>")
        for status, resp in op["responses"].items():
            content = resp.get("content", {})
            body = (
                _type(content["application/json"]["schema"])
                if "application/json" in content
                else ("HTML" if content else "")
            )
            out.append(
                f"<tr><td>{status}</td><td>{escape(resp['description'])}</td><td>{body}</td></tr>"
            )
        out.append("</table>")
        out.append(f"<pre>{escape(_curl(method, path, op))}</pre>")
    out.append("<h2>Schemas</h2>")
    for name, schema in schemas.items():
        out.append(f'<h3 id="schema-{escape(name)}">{escape(name)}</h3>')
        if schema.get("description"):
            out.append(f"<p>{escape(schema['description'])}</p>")
        if "properties" in schema:
            out.append(_fields_table(schema))
        elif "enum" in schema:
            out.append(f"<p>{_type(schema)}</p>")
    out.append("</main></body></html>")
    return "\n".join(out).encode("utf-8")
