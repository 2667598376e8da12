"""Reading the parameters of a Bot API request the four ways Telegram accepts them.

Owns turning a query string, a JSON body, a urlencoded form or a multipart form into a dict of
values plus the uploaded files. Values from forms stay strings; the spec coerces them. The
multipart reader is local because Starlette's needs the python-multipart package, which the
project does not depend on. Imports nothing from `bot.*` or `telegram`.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from bot.emulator.spec import UploadedFile, bad_request

_PARAM = re.compile(r';\s*([A-Za-z0-9_*-]+)=(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')


def _header_params(value: str) -> dict[str, str]:
    return {m.group(1).lower(): m.group(2) or m.group(3) or "" for m in _PARAM.finditer(value)}


def decode_params(
    query: str, content_type: str, body: bytes
) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Parameters and uploads of one request; body parameters win over the query string."""
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    uploads: dict[str, UploadedFile] = {}
    kind = content_type.split(";", 1)[0].strip().lower()
    if not body.strip():
        return params, uploads
    if kind == "application/json":
        try:
            data = json.loads(body)
        except ValueError as e:
            raise bad_request("can't parse JSON object") from e
        if not isinstance(data, dict):
            raise bad_request("can't parse JSON object")
        params.update(data)
    elif kind == "application/x-www-form-urlencoded":
        params.update(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
    elif kind == "multipart/form-data":
        boundary = _header_params(content_type).get("boundary")
        if not boundary:
            raise bad_request("can't parse multipart/form-data: no boundary")
        for name, upload in _multipart(body, boundary.encode("latin-1")):
            if upload.filename is None:
                params[name] = upload.data.decode("utf-8", errors="replace")
            else:
                uploads[name] = upload
    return params, uploads


def _multipart(body: bytes, boundary: bytes) -> list[tuple[str, UploadedFile]]:
    parts: list[tuple[str, UploadedFile]] = []
    for chunk in body.split(b"--" + boundary)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk.removeprefix(b"\r\n")
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        data = data.removesuffix(b"\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", errors="replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = _header_params(headers.get("content-disposition", ""))
        name = disposition.get("name")
        if name is None:
            continue
        filename = disposition.get("filename")
        parts.append((name, UploadedFile(name, filename, headers.get("content-type"), data)))
    return parts
