"""The Sparkplug B payload schema, written from the Eclipse Sparkplug 3.0 specification.

Sparkplug B carries its payloads as Protocol Buffers (proto2) messages. The schema below
is built as a descriptor in Python (``descriptor_pb2``), field by field from the
specification's payload chapter (6.4, "Payload Components"), and turned into message
classes by the ``protobuf`` runtime: no generated code and no copy of another project's
``.proto`` file. Only the wire format matters to a peer (field numbers and types), so the
package name is our own.

``Payload`` holds ``timestamp`` (ms), ``metrics``, ``seq`` (0..255), ``uuid`` and
``body``; a ``Metric`` holds ``name``, ``alias``, ``timestamp``, ``datatype`` (a
:class:`DataType`), the flags ``is_historical``, ``is_transient``, ``is_null``,
``metadata``, ``properties`` (a ``PropertySet``) and one value of the oneof ``value``:
``int_value`` (uint32: Int8..Int32, UInt8..UInt32), ``long_value`` (uint64: Int64,
UInt64, DateTime), ``float_value``, ``double_value``, ``boolean_value``, ``string_value``,
``bytes_value``, ``dataset_value``, ``template_value``.

>>> p = Payload(timestamp=1, seq=0)
>>> m = p.metrics.add(name="speed", alias=1, datatype=DataType.DOUBLE, double_value=612.5)
>>> Payload.FromString(p.SerializeToString()).metrics[0].double_value
612.5
"""

from __future__ import annotations

import math
from enum import IntEnum
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

__all__ = [
    "DataSet",
    "DataType",
    "MetaData",
    "Metric",
    "Payload",
    "PropertySet",
    "PropertySetList",
    "PropertyValue",
    "Template",
    "metric_value",
    "properties",
    "set_value",
    "signed",
]


class DataType(IntEnum):
    """Sparkplug B data types (specification 6.4.16); the numbers are on the wire."""

    UNKNOWN = 0
    INT8 = 1
    INT16 = 2
    INT32 = 3
    INT64 = 4
    UINT8 = 5
    UINT16 = 6
    UINT32 = 7
    UINT64 = 8
    FLOAT = 9
    DOUBLE = 10
    BOOLEAN = 11
    STRING = 12
    DATETIME = 13
    TEXT = 14
    UUID = 15
    DATASET = 16
    BYTES = 17
    FILE = 18
    TEMPLATE = 19
    PROPERTYSET = 20
    PROPERTYSETLIST = 21
    INT8ARRAY = 22
    INT16ARRAY = 23
    INT32ARRAY = 24
    INT64ARRAY = 25
    UINT8ARRAY = 26
    UINT16ARRAY = 27
    UINT32ARRAY = 28
    UINT64ARRAY = 29
    FLOATARRAY = 30
    DOUBLEARRAY = 31
    BOOLEANARRAY = 32
    STRINGARRAY = 33
    DATETIMEARRAY = 34


_F = descriptor_pb2.FieldDescriptorProto
_OPT, _REP = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED
_T = {
    "uint32": _F.TYPE_UINT32, "uint64": _F.TYPE_UINT64, "float": _F.TYPE_FLOAT, "double": _F.TYPE_DOUBLE,
    "bool": _F.TYPE_BOOL, "string": _F.TYPE_STRING, "bytes": _F.TYPE_BYTES, "message": _F.TYPE_MESSAGE,
}  # fmt: skip
_PKG = "twinverse.sparkplug_b"
_P = f".{_PKG}.Payload"


def _message(
    name: str, fields: list[tuple[Any, ...]], *, oneof: str | None = None, nested: tuple[Any, ...] = (),
    extensions_from: int | None = None,
) -> descriptor_pb2.DescriptorProto:  # fmt: skip
    """A message: ``fields`` are ``(name, number, type[, message type][, "rep"|"oneof"])``."""
    msg = descriptor_pb2.DescriptorProto(name=name)
    if oneof:
        msg.oneof_decl.add(name=oneof)
    for f in fields:
        fname, number, ftype, *rest = f
        field = msg.field.add(name=fname, number=number, type=_T[ftype], label=_OPT)
        for extra in rest:
            if extra == "rep":
                field.label = _REP
            elif extra == "oneof":
                field.oneof_index = 0
            else:
                field.type_name = extra
    msg.nested_type.extend(nested)
    if extensions_from is not None:
        msg.extension_range.add(start=extensions_from, end=536_870_912)  # "to max"
    return msg


def _extension(name: str) -> descriptor_pb2.DescriptorProto:
    """The empty, extensible holder the specification gives each value oneof."""
    return _message(name, [], extensions_from=1)


def _values(start: int, ext: str, *more: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """The scalar members of a value oneof from field ``start`` on, then ``more``, then the extension."""
    scalars = ["int_value:uint32", "long_value:uint64", "float_value:float", "double_value:double",
               "boolean_value:bool", "string_value:string"]  # fmt: skip
    out: list[tuple[Any, ...]] = [(s.split(":")[0], start + i, s.split(":")[1], "oneof") for i, s in enumerate(scalars)]
    n = start + len(scalars)
    for m in more:
        out.append((m[0], n, *m[1:], "oneof"))
        n += 1
    out.append(("extension_value", n, "message", ext, "oneof"))
    return out


def _file() -> descriptor_pb2.FileDescriptorProto:
    f = descriptor_pb2.FileDescriptorProto(name="twinverse/sparkplug_b.proto", package=_PKG, syntax="proto2")
    parameter = _message("Parameter", [("name", 1, "string"), ("type", 2, "uint32"),
                                       *_values(3, f"{_P}.Template.Parameter.ParameterValueExtension")],
                         oneof="value", nested=(_extension("ParameterValueExtension"),))  # fmt: skip
    template = _message(
        "Template",
        [("version", 1, "string"), ("metrics", 2, "message", f"{_P}.Metric", "rep"),
         ("parameters", 3, "message", f"{_P}.Template.Parameter", "rep"), ("template_ref", 4, "string"),
         ("is_definition", 5, "bool")],
        nested=(parameter,), extensions_from=6,
    )  # fmt: skip
    dataset_value = _message("DataSetValue", _values(1, f"{_P}.DataSet.DataSetValue.DataSetValueExtension"),
                             oneof="value", nested=(_extension("DataSetValueExtension"),))  # fmt: skip
    row = _message("Row", [("elements", 1, "message", f"{_P}.DataSet.DataSetValue", "rep")], extensions_from=2)
    dataset = _message(
        "DataSet",
        [("num_of_columns", 1, "uint64"), ("columns", 2, "string", "rep"), ("types", 3, "uint32", "rep"),
         ("rows", 4, "message", f"{_P}.DataSet.Row", "rep")],
        nested=(dataset_value, row), extensions_from=5,
    )  # fmt: skip
    property_value = _message(
        "PropertyValue",
        [("type", 1, "uint32"), ("is_null", 2, "bool"),
         *_values(3, f"{_P}.PropertyValue.PropertyValueExtension",
                  ("propertyset_value", "message", f"{_P}.PropertySet"),
                  ("propertysets_value", "message", f"{_P}.PropertySetList"))],
        oneof="value", nested=(_extension("PropertyValueExtension"),),
    )  # fmt: skip
    property_set = _message("PropertySet", [("keys", 1, "string", "rep"),
                                            ("values", 2, "message", f"{_P}.PropertyValue", "rep")],
                            extensions_from=3)  # fmt: skip
    property_set_list = _message("PropertySetList", [("propertyset", 1, "message", f"{_P}.PropertySet", "rep")],
                                 extensions_from=2)  # fmt: skip
    metadata = _message(
        "MetaData",
        [("is_multi_part", 1, "bool"), ("content_type", 2, "string"), ("size", 3, "uint64"), ("seq", 4, "uint64"),
         ("file_name", 5, "string"), ("file_type", 6, "string"), ("md5", 7, "string"), ("description", 8, "string")],
        extensions_from=9,
    )  # fmt: skip
    metric = _message(
        "Metric",
        [("name", 1, "string"), ("alias", 2, "uint64"), ("timestamp", 3, "uint64"), ("datatype", 4, "uint32"),
         ("is_historical", 5, "bool"), ("is_transient", 6, "bool"), ("is_null", 7, "bool"),
         ("metadata", 8, "message", f"{_P}.MetaData"), ("properties", 9, "message", f"{_P}.PropertySet"),
         *_values(10, f"{_P}.Metric.MetricValueExtension", ("bytes_value", "bytes"),
                  ("dataset_value", "message", f"{_P}.DataSet"), ("template_value", "message", f"{_P}.Template"))],
        oneof="value", nested=(_extension("MetricValueExtension"),),
    )  # fmt: skip
    payload = _message(
        "Payload",
        [("timestamp", 1, "uint64"), ("metrics", 2, "message", f"{_P}.Metric", "rep"), ("seq", 3, "uint64"),
         ("uuid", 4, "string"), ("body", 5, "bytes")],
        nested=(template, dataset, property_value, property_set, property_set_list, metadata, metric),
        extensions_from=6,
    )  # fmt: skip
    f.message_type.append(payload)
    return f


_POOL = descriptor_pool.DescriptorPool()  # our own pool: no clash with another Sparkplug schema in the process
_POOL.Add(_file())


def _cls(name: str) -> Any:
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"{_PKG}.{name}"))


Payload: Any = _cls("Payload")
Metric: Any = _cls("Payload.Metric")
DataSet: Any = _cls("Payload.DataSet")
Template: Any = _cls("Payload.Template")
MetaData: Any = _cls("Payload.MetaData")
PropertySet: Any = _cls("Payload.PropertySet")
PropertySetList: Any = _cls("Payload.PropertySetList")
PropertyValue: Any = _cls("Payload.PropertyValue")

#: Bits of the signed integer types: their value travels as the low bits of an unsigned field.
SIGNED_BITS = {DataType.INT8: 8, DataType.INT16: 16, DataType.INT32: 32, DataType.INT64: 64}


def signed(raw: int, datatype: int) -> int:
    """The value of a signed type from its unsigned wire field (two's complement of its width).

    Peers differ in how an Int8 of -1 travels (0xFF or 0xFFFFFFFF in ``int_value``): the low
    bits of the type's width decide, so both read -1.

    >>> signed(0xFF, DataType.INT8), signed(0xFFFFFFFF, DataType.INT8), signed(5, DataType.INT16)
    (-1, -1, 5)
    """
    bits = SIGNED_BITS.get(DataType(datatype)) if datatype in SIGNED_BITS else None
    if bits is None:
        return raw
    raw &= (1 << bits) - 1
    return raw - (1 << bits) if raw >> (bits - 1) else raw


_INT_TYPES = frozenset({DataType.INT8, DataType.INT16, DataType.INT32, DataType.UINT8, DataType.UINT16,
                        DataType.UINT32})  # fmt: skip
_LONG_TYPES = frozenset({DataType.INT64, DataType.UINT64, DataType.DATETIME})


def set_value(metric: Any, datatype: int, value: float | bool | str) -> None:
    """Give ``metric`` its ``datatype`` and ``value`` in the member the specification names for it."""
    metric.datatype = int(datatype)
    if datatype in _INT_TYPES:
        metric.int_value = int(value) & 0xFFFFFFFF
    elif datatype in _LONG_TYPES:
        metric.long_value = int(value) & 0xFFFFFFFFFFFFFFFF
    elif datatype == DataType.FLOAT:
        metric.float_value = float(value)
    elif datatype == DataType.DOUBLE:
        metric.double_value = float(value)
    elif datatype == DataType.BOOLEAN:
        metric.boolean_value = bool(value)
    elif datatype in (DataType.STRING, DataType.TEXT, DataType.UUID):
        metric.string_value = str(value)
    else:
        raise ValueError(f"cannot set a value of Sparkplug type {DataType(datatype).name}")


def metric_value(metric: Any, datatype: int | None = None) -> float:
    """A scalar metric's value as a float (NaN for is_null and for non-numeric values)."""
    member = metric.WhichOneof("value")
    if metric.is_null or member is None:
        return math.nan
    dt = metric.datatype if datatype is None else datatype
    if member == "int_value" or member == "long_value":
        raw = getattr(metric, member)
        return float(signed(raw, dt)) if dt in SIGNED_BITS else float(raw)
    if member in ("float_value", "double_value", "boolean_value"):
        return float(getattr(metric, member))
    return math.nan


def properties(metric: Any) -> dict[str, Any]:
    """A metric's property set as a dict of scalars (``engUnit`` → ``'rpm'``)."""
    out: dict[str, Any] = {}
    if not metric.HasField("properties"):
        return out
    ps = metric.properties
    for key, value in zip(ps.keys, ps.values, strict=False):
        member = value.WhichOneof("value")
        out[key] = None if value.is_null or member is None else getattr(value, member)
    return out
