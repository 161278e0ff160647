"""How Open311 answers are written: the same data as JSON or as the spec's XML (the Spark convention).

An answer is built once as plain data under its root name (`services`, `service_requests`,
`service_definition`, `errors`, `discovery`, …). JSON drops the root (a list becomes the top-level
array); XML keeps it, and every list gets one element per item named as the spec names it
(`<services><service>`, `<attributes><attribute>`, `<values><value>`, `<endpoints><endpoint>`,
`<formats><format>`, mySociety's `<service_request_updates><request_update>`). A missing value is
an empty element in XML and null in JSON, as in the spec's examples.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from fastapi import Request
from fastapi.responses import Response

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
FORMATS = {"json": JSON_TYPE, "xml": XML_TYPE}
# What discovery lists: the MIME types of the formats above.
MIME_TYPES = ["text/xml", "application/json"]
# The element of each item of a list, as the spec (and mySociety's extension) name them.
ITEM = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
    "service_request_updates": "request_update",
    "endpoints": "endpoint",
    "formats": "format",
}
# XML 1.0 has no way to write these (a pasted control character would make the whole answer unreadable).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def requested_format(request: Request) -> str:
    """The format the client asked for: the path's extension, else what it accepts; XML, the format every
    GeoReport client must read, when nothing says otherwise."""
    last = request.url.path.rsplit("/", 1)[-1]
    extension = last.rsplit(".", 1)[-1].lower() if "." in last else ""
    if extension in FORMATS:
        return extension
    accept = request.headers.get("accept", "").lower()
    if "json" in accept and "xml" not in accept:
        return "json"
    return "xml"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for name, child in value.items():
            _fill(ET.SubElement(element, name), child)
    elif isinstance(value, list):
        item = ITEM[element.tag]  # a list the spec does not name is a programming error
        for child in value:
            _fill(ET.SubElement(element, item), child)
    else:
        element.text = _text(value)


def to_xml(root: str, data: Any) -> bytes:
    element = ET.Element(root)
    _fill(element, data)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="utf-8", xml_declaration=False)


def to_json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, allow_nan=False).encode("utf-8")


def render(fmt: str, root: str, data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = to_xml(root, data) if fmt == "xml" else to_json(data)
    return Response(body, status_code=status, media_type=FORMATS.get(fmt, JSON_TYPE), headers=headers)


def error_response(fmt: str, status: int, description: str, headers: dict[str, str] | None = None) -> Response:
    """The spec's error answer: a list of {code, description} (one here), `<errors><error>` in XML."""
    return render(fmt, "errors", [{"code": status, "description": description}], status=status, headers=headers)


def documented(root: str, example: Any, description: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI's description of an answer in both formats."""
    return {
        200: {
            "description": description,
            "content": {
                "application/json": {"example": example},
                "text/xml": {"example": to_xml(root, example).decode("utf-8")},
            },
        }
    }
