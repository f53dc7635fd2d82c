"""JSON request bodies: /schema advertises exactly what msgspec enforces, and msgspec enforces it strictly.

Litestar writes a Struct's schema itself and loses part of what its `Meta` says: a bound of 0 (falsy),
and every constraint inside a container (`list[Annotated[str, Meta(min_length=1)]]` became a list of
any strings). A client reading /schema then sent bodies the server refused. `StructSchemas` writes each
Struct's properties from msgspec's own JSON Schema instead, so the document and the validation are one
source; nested Structs and enums stay Litestar's named components. A rule between members that msgspec
cannot declare (one member required when another has a value, at least one of two) is a Struct's
`schema_rules`, JSON Schema added to its component; the service that takes the body enforces the same
rule, and the fuzz test (tests/app/test_api_schema.py) holds the two together.

A few patterns depend on settings (a mobile number is one of SMS_ALLOWED_REGIONS): Litestar builds the
document lazily from types declared at import time, and building it eagerly in create_app, to patch it
afterwards, would cost every app a quarter of a second. So such a type declares a placeholder pattern
(`extra_json_schema`, which msgspec shows and does not enforce) and each app's `StructSchemas` is given
what its placeholders stand for (`slots`), filling them in as it writes the document, in bodies and in
query parameters alike. The handler enforces the same pattern itself (engage.phones.api_mobile_number).

Litestar also converts bodies with `strict=False`, which takes `0` for false, "5" for 5 and a number of
seconds for a date: values the schema does not allow. `StrictBodyRequest` first converts the decoded
body strictly against the handler's type, so those are refused with the usual 400 naming the field.
A number with no fraction (`5.0`) stays an integer, as JSON Schema says it is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import msgspec
from litestar._openapi.schema_generation import SchemaCreator
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.exceptions import ValidationException
from litestar.openapi.spec import OpenAPIFormat, OpenAPIType, Reference, Schema
from litestar.plugins.htmx import HTMXRequest
from litestar.typing import FieldDefinition

_SCHEMA_FIELDS = {field.metadata.get("alias", field.name): field.name for field in dataclasses.fields(Schema)}
_NESTED_ONE = {"items", "additionalProperties", "propertyNames", "not", "contains", "if", "then", "else"}
_NESTED_MANY = {"anyOf", "oneOf", "allOf", "prefixItems"}


def _named_types(annotation: Any) -> dict[str, type]:
    """The Structs and enums a body type reaches, by the name msgspec's JSON Schema gives them."""
    found: dict[str, type] = {}

    def visit(info: msgspec.inspect.Type) -> None:
        if isinstance(info, msgspec.inspect.StructType | msgspec.inspect.EnumType):
            if info.cls.__name__ in found:
                return
            found[info.cls.__name__] = info.cls
        for child in _children(info):
            visit(child)

    visit(msgspec.inspect.type_info(annotation))
    return found


def _children(info: msgspec.inspect.Type) -> list[msgspec.inspect.Type]:
    if isinstance(info, msgspec.inspect.StructType):
        return [field.type for field in info.fields]
    if isinstance(info, msgspec.inspect.Metadata):
        return [info.type]
    if isinstance(info, msgspec.inspect.UnionType):
        return list(info.types)
    if isinstance(info, msgspec.inspect.DictType):
        return [info.key_type, info.value_type]
    item = getattr(info, "item_type", None)  # list, set, frozenset, var-tuple
    return [item] if item is not None else list(getattr(info, "item_types", ()))


def _slot(field_definition: FieldDefinition, slots: Mapping[str, str]) -> bool:
    """Whether a field's own msgspec metadata declares a placeholder pattern (a query parameter's type)."""
    return any(
        isinstance(meta, msgspec.Meta) and (meta.extra_json_schema or {}).get("pattern") in slots
        for meta in field_definition.metadata
    )


class StructSchemas(StructSchemaPlugin):
    """Struct components whose properties are msgspec's JSON Schema, with the app's patterns in its
    placeholders (see the module's docstring)."""

    def __init__(self, slots: Mapping[str, str] | None = None) -> None:
        self.slots = dict(slots or {})

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return _slot(field_definition, self.slots) or super().is_plugin_supported_field(field_definition)

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        if _slot(field_definition, self.slots):
            return Schema(**self._fields(msgspec.json.schema(field_definition.raw), {}, schema_creator))
        cls = field_definition.type_
        (ref,), definitions = msgspec.json.schema_components([cls], ref_template="{name}")
        own = definitions[ref["$ref"]]
        named = _named_types(cls)
        required = sorted(own.get("required", []))
        schema: Schema = schema_creator.create_component_schema(field_definition, required, {})
        schema.properties = {
            name: self._schema(value, named, schema_creator)
            for name, value in own.get("properties", {}).items()
        }
        for name, value in self._fields(getattr(cls, "schema_rules", {}), named, schema_creator).items():
            setattr(schema, name, value)
        return schema

    def _schema(
        self, value: dict[str, Any], named: dict[str, type], creator: SchemaCreator
    ) -> Schema | Reference:
        if "$ref" in value:
            target = creator.for_field_definition(FieldDefinition.from_annotation(named[value["$ref"]]))
            rest = {key: item for key, item in value.items() if key != "$ref"}
            return Schema(all_of=[target], **self._fields(rest, named, creator)) if rest else target
        return Schema(**self._fields(value, named, creator))

    def _fields(
        self, value: dict[str, Any], named: dict[str, type], creator: SchemaCreator
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for key, item in value.items():
            if key in _NESTED_ONE and isinstance(item, dict):
                item = self._schema(item, named, creator)
            elif key in _NESTED_MANY:
                item = [self._schema(part, named, creator) for part in item]
            elif key == "properties":
                item = {name: self._schema(part, named, creator) for name, part in item.items()}
            elif key == "type":
                item = [OpenAPIType(part) for part in item] if isinstance(item, list) else OpenAPIType(item)
            elif key == "format":
                item = OpenAPIFormat(item)
            elif key == "pattern":
                item = self.slots.get(item, item)
            fields[_SCHEMA_FIELDS[key]] = item
        return fields


def _whole_numbers(value: Any) -> Any:
    """The decoded body with `5.0` as `5`: strict msgspec takes no float for an int."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    return value


class StrictBodyRequest(HTMXRequest):
    """A request whose JSON body is converted strictly against the handler's `data` type first (an
    HTMXRequest, which the pages' handlers take)."""

    async def json(self) -> Any:
        value = await super().json()
        data = self.route_handler.parsed_data_field
        if data is not None:
            try:
                msgspec.convert(_whole_numbers(value), data.annotation, strict=True, str_keys=True)
            except msgspec.ValidationError as problem:
                raise ValidationException(
                    detail=str(problem), extra=[{"message": str(problem), "key": "data", "source": "body"}]
                ) from problem
        return value
