"""YAML documents that remember where every value came from, and pydantic errors turned into lines.

Every problem a user sees reads `FILE:LINE: path.to.field: what is wrong`. To get LINE, the file is
composed into a node tree with PyYAML's SafeLoader (safe tags only), every key path is mapped to the
1-based line of its key (or, for a list item, of the item), and pydantic's error locations are then
looked up in that map. A missing field is reported at the key that holds the mapping lacking it
(the list item for a step, the first line of the document for a top-level field). Duplicate keys, which plain `yaml.safe_load` silently resolves to the last
one, are problems here: a policy written twice is a policy misread once.
"""

from __future__ import annotations

import difflib
import os
import re
import select
import stat
import time
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pydantic
import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from audit.errors import InputError

PathKey = tuple[Any, ...]  # ("steps", 2, "fill", "value"): mapping keys and list indices
M = TypeVar("M", bound=pydantic.BaseModel)

# Bounds on what a settings file may ask of the loader. A scenario is a few hundred lines; these
# leave room for a thousand-step flow, and stop a file built to exhaust memory or the stack: an
# alias bomb (`&a [*b, *b, ...]` nested, each level multiplying the last) or brackets nested
# thousands deep.
MAX_FILE_BYTES = 1024 * 1024
PIPE_WAIT_S = 5.0  # a named pipe given as a file: how long its writer may take to finish
MAX_DEPTH = 64            # nested mappings and lists, counted through aliases
MAX_NODES = 100_000       # values once every alias is expanded

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


@dataclass
class YamlDoc:
    """A loaded mapping document with the line of every key path."""

    file: str                          # the path as the user gave it, used in every problem line
    data: dict[str, Any]
    lines: dict[PathKey, int]          # () -> line of the root mapping
    raw_numbers: dict[PathKey, str] = field(default_factory=dict)  # plain int/float scalars as written
    problems: list[str] = field(default_factory=list)  # duplicate keys: reported with validation's

    def line_of(self, path: PathKey) -> int:
        """Line of `path`, else of its nearest ancestor that exists."""
        for n in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:n]))
            if line is not None:
                return line
        return 1

    def problem(self, path: PathKey, shown: str, message: str) -> str:
        return f"{self.file}:{self.line_of(path)}: {shown or '(root)'}: {message}"


def format_path(path: PathKey) -> str:
    """("steps", 2, "fill", "value") -> "steps[2].fill.value"."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(str(part)):
            out += ("." if out else "") + str(part)
        else:  # a host key such as "*.stripe.com": dots inside it are not path separators
            out += f'["{part}"]'
    return out


def read_text(path: Path) -> str:
    try:
        info = path.stat()
        size = info.st_size
        if size > MAX_FILE_BYTES and path.is_file():
            raise InputError(f"{path}:1: (file): {size} bytes; a settings file may hold at most "
                             f"{MAX_FILE_BYTES} bytes")
        if stat.S_ISFIFO(info.st_mode) or stat.S_ISSOCK(info.st_mode):
            raw = _read_pipe(path)
        else:
            with path.open("rb") as handle:  # read at most the bound: a device never ends
                raw = handle.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise InputError(f"{path}:1: (file): more than {MAX_FILE_BYTES} bytes; a settings file "
                             f"may hold at most {MAX_FILE_BYTES} bytes")
        return raw.decode("utf-8")
    except IsADirectoryError:
        raise InputError(f"{path}: cannot read: it is a directory") from None
    except FileNotFoundError:
        raise InputError(f"{path}: cannot read: no such file") from None
    except UnicodeDecodeError as exc:
        line = exc.object[:exc.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: (file): not UTF-8 text (byte 0x{exc.object[exc.start]:02x} "
                         "cannot start a character)") from None
    except OSError as exc:
        reason = exc.strerror if exc.strerror else str(exc)
        raise InputError(f"{path}: cannot read: {reason}") from None


def _read_pipe(path: Path) -> bytes:
    """A named pipe (`/dev/stdin` fed by a shell pipe, or a FIFO): opened without waiting for a
    writer, read until its end, at most PIPE_WAIT_S in all. A FIFO nobody writes to would
    otherwise hold the run before it starts, for ever."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        chunks: list[bytes] = []
        got = 0
        deadline = time.monotonic() + PIPE_WAIT_S
        while got <= MAX_FILE_BYTES:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise InputError(f"{path}: cannot read: a pipe that gave no end of file within "
                                 f"{PIPE_WAIT_S:.0f} s")
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        if not got:
            raise InputError(f"{path}: cannot read: a pipe with nothing written to it")
        return b"".join(chunks)
    finally:
        os.close(fd)


def load_yaml(path: Path, *, allow_empty: bool = False) -> YamlDoc:
    """Read and compose `path`; raises InputError for unreadable files, syntax errors, non-mappings."""
    return parse_yaml(read_text(path), str(path), allow_empty=allow_empty)


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses nesting deeper than MAX_DEPTH while composing (PyYAML's composer
    recurses once per level, so a deep file would otherwise end in RecursionError)."""

    def __init__(self, text: str, file: str) -> None:
        super().__init__(text)
        self._file = file
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise InputError(f"{self._file}:{mark.line + 1}: (yaml): nested more than {MAX_DEPTH} "
                                 "levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _check_expansion(root: Node, file: str) -> None:
    """Refuse a document whose aliases expand it beyond MAX_NODES values or MAX_DEPTH levels, or
    that contains itself: every later step (line map, construction, validation) walks it expanded."""
    sizes: dict[int, tuple[int, int]] = {}   # id(node) -> (values, depth) once expanded
    busy: set[int] = set()

    def measure(node: Node) -> tuple[int, int]:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in busy:
            raise InputError(f"{file}:{node.start_mark.line + 1}: (yaml): an alias refers to a value "
                             "that contains it (a recursive structure)")
        busy.add(key)
        children: list[Node] = []
        if isinstance(node, MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, SequenceNode):
            children = list(node.value)
        count, depth = 1, 1
        for child in children:
            c, d = measure(child)
            count, depth = count + c, max(depth, d + 1)
            if count > MAX_NODES or depth > MAX_DEPTH:
                raise InputError(
                    f"{file}:{node.start_mark.line + 1}: (yaml): aliases expand this value beyond "
                    f"{MAX_NODES} values or {MAX_DEPTH} levels (an alias bomb?)")
        busy.discard(key)
        sizes[key] = (count, depth)
        return count, depth

    measure(root)


def parse_yaml(text: str, file: str, *, allow_empty: bool = False) -> YamlDoc:
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise InputError(f"{file}:1: (file): a settings file may hold at most {MAX_FILE_BYTES} bytes")
    loader = _BoundedLoader(text, file)
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 1
            what = exc.problem or str(exc)
            if exc.context and "expected a single document" in exc.context:
                what = "expected a single document, found several (---)"
            elif exc.context and exc.context_mark and exc.problem_mark \
                    and exc.context_mark.line != exc.problem_mark.line:
                # An unclosed quote or bracket is found at the end: say where it started.
                what += f" ({exc.context} started at line {exc.context_mark.line + 1})"
            raise InputError(f"{file}:{line}: (yaml): {what}") from None
        except yaml.YAMLError as exc:  # reader errors (control characters) carry no mark
            raise InputError(f"{file}:1: (yaml): {exc}") from None
        if root is None or (isinstance(root, ScalarNode) and root.tag.endswith(":null")):
            if allow_empty:
                return YamlDoc(file=file, data={}, lines={(): 1})
            raise InputError(f"{file}:1: (root): the file is empty; expected a mapping of fields")
        if not isinstance(root, MappingNode):
            kind = "a list" if isinstance(root, SequenceNode) else "a single value"
            raise InputError(f"{file}:{root.start_mark.line + 1}: (root): "
                             f"expected a mapping of fields, found {kind}")
        _check_expansion(root, file)
        doc = YamlDoc(file=file, data={}, lines={(): root.start_mark.line + 1})
        _walk(loader, root, (), doc)
        try:
            data = loader.construct_document(root)
        except yaml.constructor.ConstructorError as exc:  # e.g. an unhashable key, an unknown tag
            mark = exc.problem_mark
            raise InputError(f"{file}:{mark.line + 1 if mark else 1}: (yaml): {exc.problem}") from None
        doc.data = data
        return doc
    finally:
        loader.dispose()


def _walk(loader: yaml.SafeLoader, node: Node, path: PathKey, doc: YamlDoc) -> None:
    """Record the line of every key path below `node` and every duplicate key."""
    if isinstance(node, MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *anchor`: its keys are attributed to the merge line below
            key = _key_of(loader, key_node)
            line = key_node.start_mark.line + 1
            if key in seen:
                doc.problems.append(
                    f"{doc.file}:{line}: {format_path(path + (key,))}: duplicate key "
                    f"(first at line {seen[key]}); YAML keeps only the last one")
                # The data holds the last value, so its lines are the ones to point at.
                prefix = path + (key,)
                for old in [p for p in doc.lines if p[:len(prefix)] == prefix]:
                    del doc.lines[old]
            seen.setdefault(key, line)
            doc.lines[path + (key,)] = line
            _walk(loader, value_node, path + (key,), doc)
    elif isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            doc.lines[path + (i,)] = item.start_mark.line + 1
            _walk(loader, item, path + (i,), doc)
    elif isinstance(node, ScalarNode) and node.tag in _NUMBER_TAGS and not node.style:
        doc.raw_numbers[path] = node.value


def _key_of(loader: yaml.SafeLoader, key_node: Node) -> Any:
    if isinstance(key_node, ScalarNode):
        try:
            value = loader.construct_object(key_node)
        except yaml.YAMLError:
            return key_node.value
        return value if isinstance(value, (str, int, float, bool)) or value is None else key_node.value
    return repr(key_node.value)  # a complex key; construct_document will reject it


# -- pydantic errors -> problem lines ---------------------------------------------------------------

LocTranslator = Callable[[tuple[Any, ...]], tuple[PathKey, PathKey]]
"""Maps a pydantic error location to (path in the YAML file, path shown to the user)."""


def _identity(loc: tuple[Any, ...]) -> tuple[PathKey, PathKey]:
    return loc, loc


def validate(doc: YamlDoc, model: type[M], data: Any = None, *, context: dict[str, Any] | None = None,
             translate: LocTranslator = _identity, extra_problems: list[str] | None = None) -> M:
    """Validate `data` (default: the document's data) into `model`, or raise one InputError that
    lists the document's own problems and every validation error, in line order."""
    problems = list(doc.problems)
    result: M | None = None
    try:
        result = model.model_validate(doc.data if data is None else data, context=context)
    except pydantic.ValidationError as exc:
        for err in exc.errors(include_url=False):
            if err["type"] == "extra_forbidden":
                err.setdefault("ctx", {})["allowed"] = allowed_fields(model, tuple(err["loc"])[:-1])
            problems.append(error_line(doc, err, translate))
    problems += extra_problems or []
    if problems or result is None:
        raise InputError(f"{doc.file}: does not validate", problems=sort_problems(problems))
    return result


def sort_problems(problems: list[str]) -> list[str]:
    def key(line: str) -> tuple[str, int, str]:
        parts = line.split(":", 2)
        if len(parts) == 3 and parts[1].isdigit():
            return parts[0], int(parts[1]), parts[2]
        return line, 0, ""
    return sorted(dict.fromkeys(problems), key=key)


def error_line(doc: YamlDoc, err: Any, translate: LocTranslator = _identity) -> str:
    loc = tuple(err["loc"])
    kind = err["type"]
    yaml_path, shown = translate(loc)
    if kind == "missing":
        # Reported at the mapping that lacks the field.
        return f"{doc.file}:{doc.line_of(yaml_path[:-1])}: {format_path(shown)}: required field is missing"
    return doc.problem(yaml_path, format_path(shown), _message(err, doc, yaml_path))


def _message(err: Any, doc: YamlDoc, yaml_path: PathKey) -> str:
    kind, msg, ctx = err["type"], err["msg"], err.get("ctx") or {}
    if kind == "extra_forbidden":
        allowed = _allowed_fields(err)
        hint = ""
        if allowed and yaml_path:
            close = difflib.get_close_matches(str(yaml_path[-1]), allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (allowed: {', '.join(allowed)})"
        return f"unknown field{hint}"
    if kind == "value_error":
        return str(ctx.get("error", msg.removeprefix("Value error, ")))
    if kind == "assertion_error":
        return msg.removeprefix("Assertion failed, ")
    text = msg[:1].lower() + msg[1:]
    value = err.get("input")
    if kind.endswith("_type") or kind.endswith("_parsing") or kind == "literal_error":
        if isinstance(value, (str, int, float, bool)) or value is None:
            text += f", got {value!r}"
        else:
            text += f", got a {'mapping' if isinstance(value, dict) else 'list' if isinstance(value, list) else type(value).__name__}"
    return text


def _allowed_fields(err: Any) -> list[str]:
    return list((err.get("ctx") or {}).get("allowed", []))


def allowed_fields(model: type[pydantic.BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model found at `loc` below `model` (pydantic does not list them in an
    `extra_forbidden` error). Discriminated unions are followed by their tag, as in pydantic's loc."""
    current: Any = model
    for part in loc:
        current = _descend(current, part)
        if current is None:
            return []
    for candidate in _unwrap(current):
        if isinstance(candidate, type) and issubclass(candidate, pydantic.BaseModel):
            return [name for name, f in candidate.model_fields.items() if not f.exclude]
    return []


def _descend(tp: Any, part: Any) -> Any:
    for candidate in _unwrap(tp):
        if isinstance(candidate, type) and issubclass(candidate, pydantic.BaseModel):
            if isinstance(part, str) and part in candidate.model_fields:
                return candidate.model_fields[part].annotation
            tag = candidate.model_fields.get("action")
            if tag is not None and part in typing.get_args(tag.annotation):
                return candidate  # a discriminated union's tag in the loc
        origin = typing.get_origin(candidate)
        if origin in (list, tuple) and isinstance(part, int):
            return typing.get_args(candidate)[0]
        if origin is dict and isinstance(part, str):
            return typing.get_args(candidate)[1]
    return None


def _unwrap(tp: Any) -> list[Any]:
    """Flatten Annotated, Optional and unions into the candidate types."""
    if typing.get_origin(tp) is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return [c for arg in typing.get_args(tp) for c in _unwrap(arg)]
    return [tp]
