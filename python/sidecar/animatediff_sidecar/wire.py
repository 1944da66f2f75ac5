"""How messages cross the wire: requests structured strictly by cattrs, messages unstructured to camelCase.

protocol.py says *what* the messages are (attrs classes); this module says how they are read and
written. The wire name of a field is the camelCase of its Python name. Reading is strict: a string
is a string, a whole number is a whole number (8.0 counts: JavaScript has one number type), unknown
fields are refused, and a field whose value is null counts as absent (JavaScript's `undefined`
often arrives as null). Every failure is a `WireError` naming the field by its wire path
(`params.numFrames`, `params.formats[1]`); protocol.py turns it into the JSON-RPC InvalidParams.

A field's type says what it may hold: the NewTypes below, or any type given a check with `register`.
"""

import math
import os
from typing import Any, Callable, NewType, Optional, Tuple

import attrs
import cattrs
from cattrs.errors import (ClassValidationError, ForbiddenExtraKeysError, IterableValidationError,
                           IterableValidationNote)
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class WireError(ValueError):
    """A request field that cannot be read: `path` is its wire path ("" for the whole params)."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class Bad(ValueError):
    """Raised by a check: what is wrong with the value (`read` adds where it is)."""

    def __init__(self, message: str, suffix: str = ""):
        super().__init__(message)
        self.message = message
        self.suffix = suffix  # e.g. "[1]": the item of a list field that is wrong


# -- checks ----------------------------------------------------------------------------------------

def text(value: Any, non_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise Bad(f"must be a string, got {json_type(value)}")
    if non_empty and not value.strip():
        raise Bad("must not be empty")
    return value


def abs_path(value: Any) -> str:
    path = os.path.expanduser(text(value, non_empty=True))
    if "\x00" in path:  # no file system takes one; os calls would raise ValueError deep inside a run
        raise Bad("must not contain a NUL byte")
    if not os.path.isabs(path):
        raise Bad(f"must be an absolute path, got {path!r}")
    return path


def whole(value: Any, minimum: Optional[int] = None) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Bad(f"must be a whole number, got {json_repr(value)}")
    if minimum is not None and value < minimum:
        raise Bad(f"must be at least {minimum}, got {value}")
    return value


def number(value: Any, minimum: Optional[float] = None, maximum: Optional[float] = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Bad(f"must be a number, got {json_repr(value)}")
    if not math.isfinite(value):  # JSON has no NaN/Infinity, but Python's json reads them; NaN passes any range check
        raise Bad(f"must be a finite number, got {json_repr(value)}")
    if minimum is not None and value < minimum or maximum is not None and value > maximum:
        raise Bad(f"{value} is outside {minimum}..{maximum}")
    return value


def choice(value: Any, choices: tuple, indexed: bool = False) -> Any:
    if indexed:  # "cuda:1" is a "cuda"
        if not isinstance(value, str) or value.split(":")[0] not in choices:
            raise Bad(f"{json_repr(value)} is not one of {list(choices)} (cuda:N also works)")
        return value
    if isinstance(value, bool) or value not in choices:
        raise Bad(f"{json_repr(value)} is not one of {list(choices)}")
    return choices[choices.index(value)]  # 1.0 is phase 1


def choice_list(value: Any, choices: tuple) -> Tuple[Any, ...]:
    """A non-empty list of choices, duplicates dropped (order kept)."""
    if not isinstance(value, list):
        raise Bad(f"must be a list, got {json_type(value)}")
    for index, item in enumerate(value):
        if not isinstance(item, str) or item not in choices:
            raise Bad(f"{json_repr(item)} is not one of {list(choices)}", f"[{index}]")
    if not value:
        raise Bad("ask for at least one format")
    return tuple(dict.fromkeys(value))


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def json_repr(value: Any) -> str:
    text_ = repr(value)
    return text_ if len(text_) <= 60 else text_[:57] + "..."


def shown(value: str, limit: int = 120) -> str:
    """Client-sent text as it may be echoed back (a log line, an error message): bounded, saying how long it was."""
    return value if len(value) <= limit else f"{value[:limit]}… ({len(value)} characters)"


# -- field types -----------------------------------------------------------------------------------

_reader = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)


def register(kind: Any, check: Callable[[Any], Any]) -> Any:
    """Make `kind` (a NewType) a field type read by `check`; returns `kind`."""
    _reader.register_structure_hook(kind, lambda value, _type: check(value))
    return kind


Text = register(NewType("Text", str), text)
NonEmpty = register(NewType("NonEmpty", str), lambda v: text(v, non_empty=True))
AbsPath = register(NewType("AbsPath", str), abs_path)  # "~" is expanded
Whole = register(NewType("Whole", int), whole)
Count = register(NewType("Count", int), lambda v: whole(v, minimum=1))


def _object_hook(cls: type):
    """Read `cls` from a JSON object by wire names; null fields count as absent (kept for `Any`
    fields); unknown fields refused unless the class says `open_to_newer_clients`."""
    fields = attrs.fields(cls)
    structure = make_dict_structure_fn(
        cls, _reader, _cattrs_forbid_extra_keys=not getattr(cls, "open_to_newer_clients", False),
        **{f.name: override(rename=camel(f.name)) for f in fields})
    keep_null = {camel(f.name) for f in fields if f.type is Any}

    def read_object(value: Any, _type: Any) -> Any:
        if not isinstance(value, dict):
            raise Bad(f"must be an object, got {json_type(value)}")
        return structure({k: v for k, v in value.items() if v is not None or k in keep_null}, cls)

    return read_object


_reader.register_structure_hook_factory(attrs.has, _object_hook)


def read(cls: type, data: Any) -> Any:
    """`data` (None counts as {}) as an instance of the attrs class `cls`, or WireError for the first
    wrong field in declaration order (unknown fields last)."""
    try:
        return _reader.structure({} if data is None else data, cls)
    except (Bad, ClassValidationError, ForbiddenExtraKeysError) as exc:
        raise WireError(*_first_problem(exc, "")) from None


def _first_problem(exc: BaseException, path: str) -> Tuple[str, str]:
    def join(name: str) -> str:
        return f"{path}.{name}" if path else name

    if isinstance(exc, (ClassValidationError, IterableValidationError)):
        with_notes, without = exc.group_exceptions()  # cattrs keeps declaration order
        if with_notes:
            sub, note = with_notes[0]
            return _first_problem(sub, f"{path}[{note.index}]" if isinstance(note, IterableValidationNote) else join(camel(note.name)))
        return _first_problem(without[0], path)
    if isinstance(exc, ForbiddenExtraKeysError):
        known = sorted(camel(f.name) for f in attrs.fields(exc.cl))
        return join(sorted(exc.extra_fields)[0]), f"unknown field; known fields are {known}"
    if isinstance(exc, KeyError):
        return path, "is required"
    if isinstance(exc, Bad):
        return path + exc.suffix, exc.message
    raise exc  # a bug here, not a bad request


# -- writing ---------------------------------------------------------------------------------------

_writer = cattrs.Converter()
_writer.register_unstructure_hook_factory(attrs.has, lambda cls: make_dict_unstructure_fn(
    cls, _writer, **{f.name: override(rename=camel(f.name)) for f in attrs.fields(cls)}))


def to_wire(value: Any) -> Any:
    """Messages to camelCase dicts, recursively; the keys of plain dicts are kept as they are."""
    return _writer.unstructure(value)
