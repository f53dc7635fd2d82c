"""The OpenAPI document's settings: one place for its title, security scheme, tags and operation ids.
Operation descriptions are the handlers' docstrings; docs/api.md is the prose around it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import (
    Components,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
    SecurityScheme,
    Tag,
)
from litestar.types import Method

from engage import __version__
from engage.web.api_reference import ReferencePage

TAGS = {
    "selections": "Open selections of officials: posts, timetable, applicants, stages, invitations, jury.",
    "participation": "What residents do from their phones with a personal link: nominate, vote, rate, score.",
    "panels": "Panels drawn by lot from the pool of volunteers: quotas, draw, invitations, attendance.",
    "notices": "Public notices (公示): publication, text fan-out to subscribers, deliveries.",
    "objections": "Objections residents file against a notice during its period, and their answers.",
    "residents": "The register of residents: search, counts, roster import and export (numbers masked).",
    "sign-up": "Self sign-up of residents by a texted code.",
    "communities": "The district's communities and the sign-up vocabulary.",
    "evaluations": "Resident evaluations of services and officials: campaigns, ratings, moderation.",
    "sms": "Texts: sending one (admins), reading one's state, and texts residents sent in.",
    "organizers": "The organizer the bearer token belongs to.",
    "audit": "The audit log of every change.",
    "webhooks": "Where the SMS gateway posts inbound texts and delivery reports.",
    "health": "Liveness for load balancers and monitors.",
}

BEARER_SCHEME = "BearerToken"  # the security scheme of the organizers' API
BEARER: list[dict[str, list[str]]] = [{BEARER_SCHEME: []}]  # what an operation behind a token declares

DESCRIPTION = (
    "Public participation in appointments. Authenticate with `Authorization: Bearer <token>` (create one "
    "with `engage token create EMAIL`; `--sandbox` makes a token whose texts are recorded, never sent). "
    "Errors are problem details with a stable `code` to branch on and a `detail` in the request's "
    "language; docs/api.md lists every code and the versioning policy."
)


def operation_id(handler: HTTPRouteHandler, method: Method, _path: list[object]) -> str:
    """`<controller>_<handler>` (`selection_move_stage`, `delivery_show`): readable names for generated
    clients, unique because a handler name is unique within its controller."""
    group = handler.fn.__qualname__.rpartition(".")[0]
    words = re.sub(r"(Controller|Api)$", "", group)
    prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", words).lower()
    name = "_".join(part for part in (prefix, handler.handler_name) if part)
    return name if len(handler.http_methods) == 1 else f"{name}_{method.lower()}"


def csv_upload(description: str) -> type[Operation]:
    """The operation class of an import that reads the raw body (`body: bytes`): documents that body as
    what it is, a CSV file, described by `description` (encoding, size, header)."""

    @dataclass
    class CsvUpload(Operation):
        def __post_init__(self) -> None:
            schema = Schema(type=OpenAPIType.STRING, description=description)
            self.request_body = RequestBody(
                content={"text/csv": OpenAPIMediaType(schema=schema)}, required=True
            )

    return CsvUpload


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Engage API",
        version=__version__,
        description=DESCRIPTION,
        path="/schema",
        tags=[Tag(name=name, description=text) for name, text in TAGS.items()],
        use_handler_docstrings=True,
        operation_id_creator=operation_id,  # type: ignore[arg-type]
        components=Components(
            security_schemes={
                BEARER_SCHEME: SecurityScheme(
                    type="http", scheme="bearer", description="`engage token create EMAIL` prints one"
                )
            }
        ),
        # The reference is rendered here, without scripts from a CDN on the organizers' origin (S9).
        render_plugins=[ReferencePage(path="/"), JsonRenderPlugin()],
    )
