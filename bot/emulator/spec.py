"""The Bot API description (api.json) and the checks derived from it.

Owns loading `api.json` (Telegram Bot API as data, from PaulSonOfLars/telegram-bot-api-spec,
MIT, see LICENSE-api-json) and validating values against its types: the parameters of a
method call on the way in, and the emulator's own results and updates on the way out.
Imports nothing from `bot.*` or `telegram`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

_ARRAY = "Array of "
# Fields Telegram still sends beside their replacements, though api.json no longer describes
# them (real updates carry them: see other Bot API libraries' fixtures). Accepted as they are;
# any other field the description does not name is still refused.
_THUMBED = ("Animation", "Audio", "Document", "Sticker", "Video", "VideoNote", "StickerSet")
LEGACY_FIELDS: dict[str, frozenset[str]] = {
    "Message": frozenset(
        {
            "forward_from",
            "forward_from_chat",
            "forward_from_message_id",
            "forward_signature",
            "forward_sender_name",
            "forward_date",
            "new_chat_participant",
            "voice_chat_started",
            "voice_chat_ended",
            "voice_chat_scheduled",
            "voice_chat_participants_invited",
        }
    ),
    "Chat": frozenset({"all_members_are_administrators"}),
    **{name: frozenset({"thumb"}) for name in _THUMBED},
}

_PRIMITIVES = frozenset({"Integer", "String", "Boolean", "Float"})
# The text whose absence Telegram reports with its own wording rather than "<name> is required".
_TEXT_METHODS = frozenset({"sendmessage", "editmessagetext"})
_DISCRIMINATOR = re.compile(r'(?:must be|always)\s+["“]?([a-z_]+)')


class ApiError(Exception):
    """A request Telegram would refuse: the HTTP status and the `description` it would send."""

    def __init__(
        self, description: str, status: int = 400, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.description = description
        self.status = status
        self.parameters = parameters


def bad_request(reason: str) -> ApiError:
    return ApiError(f"Bad Request: {reason}")


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart request."""

    part: str
    filename: str | None
    content_type: str | None
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    types: tuple[str, ...]
    required: bool


@dataclass(frozen=True)
class MethodSpec:
    name: str
    fields: tuple[FieldSpec, ...]
    returns: tuple[str, ...]


@dataclass(frozen=True)
class TypeSpec:
    name: str
    fields: tuple[FieldSpec, ...]
    subtypes: tuple[str, ...]
    # For a subtype: the field that names it and its value, e.g. ("type", "chat").
    discriminator: tuple[str, str] | None


def _fields(raw: list[dict[str, Any]]) -> tuple[FieldSpec, ...]:
    return tuple(FieldSpec(f["name"], tuple(f["types"]), bool(f["required"])) for f in raw)


def _discriminator(raw: dict[str, Any]) -> tuple[str, str] | None:
    for f in raw.get("fields", []):
        if f["required"] and f["types"] == ["String"]:
            m = _DISCRIMINATOR.search(f["description"])
            if m:
                return f["name"], m.group(1)
    return None


def type_label(types: tuple[str, ...] | list[str]) -> str:
    return " or ".join(types)


class ApiSpec:
    """Methods and types of one Bot API version; validation against them."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.version: str = data.get("version", "")
        self.methods: dict[str, MethodSpec] = {}
        for name, m in data["methods"].items():
            self.methods[name.lower()] = MethodSpec(
                name, _fields(m.get("fields", [])), tuple(m.get("returns", []))
            )
        self.types: dict[str, TypeSpec] = {}
        for name, t in data["types"].items():
            self.types[name] = TypeSpec(
                name,
                _fields(t.get("fields", [])),
                tuple(t.get("subtypes", [])),
                _discriminator(t),
            )

    def method(self, name: str) -> MethodSpec | None:
        """Method names are case-insensitive, as on Telegram's server."""
        return self.methods.get(name.lower())

    # -- method calls ---------------------------------------------------------------------------

    def validate_call(
        self, method: MethodSpec, raw: dict[str, Any], uploads: dict[str, UploadedFile]
    ) -> dict[str, Any]:
        """Check and coerce the parameters of a call; return them decoded.

        `raw` holds strings (form, multipart, query string) or JSON values (JSON body).
        Unknown top-level parameters are dropped, as Telegram ignores them.
        """
        out: dict[str, Any] = {}
        for f in method.fields:
            if f.name in uploads and "InputFile" in f.types:
                out[f.name] = uploads[f.name]
                continue
            if f.name not in raw or raw[f.name] is None:
                if f.required:
                    if f.name == "text" and method.name.lower() in _TEXT_METHODS:
                        raise bad_request("message text is empty")
                    raise bad_request(f"{f.name} is required")
                continue
            out[f.name] = self._top_level(f, raw[f.name], uploads)
        return out

    def _top_level(self, f: FieldSpec, value: Any, uploads: dict[str, UploadedFile]) -> Any:
        if isinstance(value, UploadedFile):
            if "InputFile" in f.types:
                return value
            raise _wrong_type(f.name, f.types)
        if not isinstance(value, str):
            return self.check(f.types, value, f.name)
        # A string may stand for any type: form encoding carries numbers, booleans and
        # JSON-serialised objects as text, and Telegram reads JSON bodies the same way.
        structured_error: ApiError | None = None
        for t in sorted(f.types, key=lambda t: t == "String"):
            if t == "Integer" and re.fullmatch(r"-?\d+", value):
                return int(value)
            if t == "Float":
                try:
                    return float(value)
                except ValueError:
                    continue
            if t == "Boolean" and value.lower() in ("true", "false", "1", "0"):
                return value.lower() in ("true", "1")
            if t in ("String",):
                return value
            if t == "InputFile":
                if value.startswith("attach://") and value[9:] in uploads:
                    return uploads[value[9:]]
                continue
            if t.startswith(_ARRAY) or t in self.types:
                try:
                    parsed = json.loads(value)
                except ValueError:
                    continue
                if not isinstance(parsed, list | dict):
                    continue
                try:
                    return self.check((t,), parsed, f.name)
                except ApiError as e:
                    structured_error = structured_error or e
        raise structured_error or _wrong_type(f.name, f.types)

    # -- values ---------------------------------------------------------------------------------

    def check(self, types: tuple[str, ...] | list[str], value: Any, path: str) -> Any:
        """Validate `value` against one of `types`; return it unchanged or raise ApiError."""
        candidates = [t for t in types if self._kind_fits(t, value)]
        if not candidates:
            raise _wrong_type(path, types)
        if len(candidates) == 1:
            return self._check_one(candidates[0], value, path)
        errors: list[tuple[int, ApiError]] = []
        for t in candidates:
            try:
                return self._check_one(t, value, path)
            except ApiError as e:
                errors.append((self._overlap(t, value), e))
        # Report the problem of the type the value most resembles.
        errors.sort(key=lambda pair: -pair[0])
        raise errors[0][1]

    def _kind_fits(self, t: str, value: Any) -> bool:
        if t == "Integer":
            return isinstance(value, int) and not isinstance(value, bool)
        if t == "Float":
            return isinstance(value, int | float) and not isinstance(value, bool)
        if t == "Boolean":
            return isinstance(value, bool)
        if t == "String":
            return isinstance(value, str)
        if t == "InputFile":
            return isinstance(value, str) and value.startswith("attach://")
        if t.startswith(_ARRAY):
            return isinstance(value, list)
        spec = self.types.get(t)
        if spec is None:
            return False
        if spec.subtypes:
            return any(self._kind_fits(s, value) for s in spec.subtypes)
        return isinstance(value, dict)

    def _overlap(self, t: str, value: Any) -> int:
        spec = self.types.get(t)
        if spec is None or not isinstance(value, dict):
            return 0
        return len(set(value) & {f.name for f in spec.fields})

    def _check_one(self, t: str, value: Any, path: str) -> Any:
        if t in _PRIMITIVES or t == "InputFile":
            return value
        if t.startswith(_ARRAY):
            inner = t[len(_ARRAY) :]
            for i, item in enumerate(value):
                self.check((inner,), item, f"{path}[{i}]")
            return value
        spec = self.types[t]
        if spec.subtypes:
            return self._check_abstract(spec, value, path)
        known = {f.name for f in spec.fields}
        legacy = LEGACY_FIELDS.get(t, frozenset())
        for key in value:
            if key not in known and key not in legacy:
                raise bad_request(f'unknown field "{path}.{key}" in {t}')
        for f in spec.fields:
            if f.name not in value:
                if f.required:
                    raise bad_request(f"{path}.{f.name} is required")
                continue
            self.check(f.types, value[f.name], f"{path}.{f.name}")
        return value

    def _check_abstract(self, spec: TypeSpec, value: Any, path: str) -> Any:
        subtypes = [self.types[s] for s in spec.subtypes if s in self.types]
        tagged = [s for s in subtypes if s.discriminator]
        if isinstance(value, dict) and tagged:
            key = tagged[0].discriminator[0] if tagged[0].discriminator else ""
            if key in value:
                for s in tagged:
                    if s.discriminator == (key, value[key]):
                        return self._check_one(s.name, value, path)
                allowed = ", ".join(s.discriminator[1] for s in tagged if s.discriminator)
                raise bad_request(f'field "{path}.{key}" must be one of: {allowed}')
        return self.check(spec.subtypes, value, path)


def _wrong_type(path: str, types: tuple[str, ...] | list[str]) -> ApiError:
    return bad_request(f'field "{path}" must be of type {type_label(types)}')


@cache
def load_spec() -> ApiSpec:
    """The bundled api.json, parsed once per process."""
    text = resources.files("bot.emulator").joinpath("api.json").read_text(encoding="utf-8")
    return ApiSpec(json.loads(text))
