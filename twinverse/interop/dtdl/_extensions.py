"""The DTDL extensions the parser knows: their co-types, the classes each may adorn, their properties.

From the extension contexts (Azure/opendigitaltwins-dtdl, DTDL/v3 and DTDL/v4 ``context``):
historization, annotation, overriding, MQTT, requirement (v3 feature extensions) and IoT
Central (v2). A co-type of an extension that is not in the element's ``@context`` is an
undefined term; one that is, on a class it does not apply to, is an invalid co-type.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EXTENSIONS", "Extension", "cotype_owner", "extension_of", "property_owner"]


@dataclass(frozen=True)
class Extension:
    """Co-type → classes it may adorn; property → the co-type that brings it."""

    cotypes: dict[str, tuple[str, ...]]
    properties: dict[str, str]


_CONTENT = ("Property", "Telemetry")
EXTENSIONS: dict[str, Extension] = {
    "historization": Extension({"Historized": _CONTENT}, {}),
    "annotation": Extension({"ValueAnnotation": _CONTENT}, {"annotates": "ValueAnnotation"}),
    "overriding": Extension({"Override": _CONTENT}, {"overrides": "Override"}),
    "mqtt": Extension(
        {
            "Mqtt": ("Interface",),
            "Idempotent": ("Command",),
            "Cacheable": ("Command",),
            "Indexed": ("Field", "EnumValue", "CommandRequest", "CommandResponse", "Telemetry", "Property"),
            "Transparent": ("CommandRequest", "CommandResponse"),
            "Result": ("Object",),
            "NormalResult": ("Field",),
            "ErrorResult": ("Field",),
            "Error": ("Object",),
            "ErrorMessage": ("Field",),
        },
        {
            "telemetryTopic": "Mqtt",
            "commandTopic": "Mqtt",
            "payloadFormat": "Mqtt",
            "telemServiceGroupId": "Mqtt",
            "cmdServiceGroupId": "Mqtt",
            "ttl": "Cacheable",
            "index": "Indexed",
        },
    ),
    "requirement": Extension({"Required": ("Field",)}, {}),
    "iotcentral": Extension(
        {
            "State": _CONTENT,
            "Event": ("Telemetry",),
            "Location": _CONTENT,
            "VelocityVector": _CONTENT,
            "AccelerationVector": _CONTENT,
        },
        {},
    ),
}
#: Every co-type any known extension defines → its extension.
_COTYPE_OWNER = {ct: name for name, ext in EXTENSIONS.items() for ct in ext.cotypes}
_PROPERTY_OWNER = {p: name for name, ext in EXTENSIONS.items() for p in ext.properties}


def extension_of(context_specifier: str) -> str | None:
    """The extension a context specifier names (``dtmi:dtdl:extension:mqtt;3`` → ``mqtt``), if known."""
    if context_specifier.startswith("dtmi:iotcentral:context;"):
        return "iotcentral"
    if context_specifier.startswith("dtmi:dtdl:extension:"):
        name = context_specifier.removeprefix("dtmi:dtdl:extension:").partition(";")[0]
        return name if name in EXTENSIONS else None
    return None


def cotype_owner(term: str) -> str | None:
    """The known extension that defines co-type ``term``."""
    return _COTYPE_OWNER.get(term)


def property_owner(term: str) -> str | None:
    """The known extension that defines property ``term``."""
    return _PROPERTY_OWNER.get(term)
