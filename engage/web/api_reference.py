"""/schema: the API reference as a plain page built from the OpenAPI document, with no script at all, so
it needs nothing from a CDN and passes the same Content-Security-Policy as every page."""

from __future__ import annotations

from html import escape
from typing import Any

from litestar import Request
from litestar.openapi.plugins import OpenAPIRenderPlugin

METHODS = ("get", "post", "put", "patch", "delete")


def _operation(method: str, path: str, operation: dict[str, Any]) -> str:
    summary = escape(str(operation.get("summary") or ""))
    parameters = ", ".join(escape(str(p.get("name"))) for p in operation.get("parameters", []))
    statuses = ", ".join(escape(str(code)) for code in operation.get("responses", {}))
    return (
        f"<tr><td><code>{method.upper()}</code></td><td><code>{escape(path)}</code></td>"
        f"<td>{summary}</td><td>{parameters}</td><td>{statuses}</td></tr>"
    )


class ReferencePage(OpenAPIRenderPlugin):
    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        info = openapi_schema.get("info", {})
        rows = [
            _operation(method, path, item[method])
            for path, item in sorted(openapi_schema.get("paths", {}).items())
            for method in METHODS
            if method in item
        ]
        json_url = escape(self.get_openapi_json_route(request))
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(str(info.get("title", "API")))}</title><link rel="stylesheet" href="/static/engage.css">'
            f"</head><body><main><h1>{escape(str(info.get('title', 'API')))} {escape(str(info.get('version', '')))}</h1>"
            f"<p>{escape(str(info.get('description', '')))}</p>"
            f'<p>The full document: <a href="{json_url}">{json_url}</a> (OpenAPI 3.1, JSON).</p>'
            "<table><thead><tr><th>method</th><th>path</th><th>summary</th><th>parameters</th>"
            f"<th>answers</th></tr></thead><tbody>{''.join(rows)}</tbody></table></main></body></html>"
        )
        return page.encode()
