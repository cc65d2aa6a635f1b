"""The subset of kubectl JSONPath that CRD ``additionalPrinterColumns`` use.

Supported: ``.field``, ``['field']``/``["field"]``, ``[N]`` (negative too), ``[*]``, ``.*`` and filters
``[?(@.a.b == "x")]`` / ``!=`` / ``[?(@.a)]``, optionally wrapped in ``{…}``.  Missing keys yield no result
(upstream's ``AllowMissingKeys(true)``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_FILTER = re.compile(
    r"""^\?\(\s*@((?:\.[\w\-/]+)*)\s*(?:(==|!=)\s*(?:"([^"]*)"|'([^']*)'|([^\s)]+)))?\s*\)$"""
)


@dataclass(frozen=True)
class Step:
    kind: str  # "field", "index", "all", "filter"
    name: str = ""
    index: int = 0
    filter_path: tuple[str, ...] = ()
    filter_op: str = ""
    filter_value: Any = None


class JSONPathError(ValueError):
    pass


def _literal(text: str) -> Any:
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def parse(path: str) -> list[Step]:
    """Parse ``path`` into steps; :class:`JSONPathError` when it is outside the supported subset."""
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    if text.startswith("$"):
        text = text[1:]
    steps: list[Step] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == ".":
            j = i + 1
            while j < len(text) and text[j] not in ".[":
                j += 1
            name = text[i + 1 : j]
            if name == "*":
                steps.append(Step("all"))
            elif name:
                steps.append(Step("field", name))
            i = j
        elif c == "[":
            end = _closing_bracket(text, i)
            inner = text[i + 1 : end].strip()
            steps.append(_bracket(inner))
            i = end + 1
        else:
            raise JSONPathError(f"unrecognized character in JSONPath {path!r} at {i}")
    return steps


def _closing_bracket(text: str, start: int) -> int:
    depth, quote = 0, ""
    for j in range(start, len(text)):
        ch = text[j]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                return j
    raise JSONPathError(f"unterminated [ in {text!r}")


def _bracket(inner: str) -> Step:
    if inner == "*":
        return Step("all")
    if len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
        return Step("field", inner[1:-1])
    if re.fullmatch(r"-?\d+", inner):
        return Step("index", index=int(inner))
    m = _FILTER.match(inner)
    if m:
        fpath = tuple(p for p in m.group(1).split(".") if p)
        value: Any = None
        if m.group(2):
            value = (
                m.group(3)
                if m.group(3) is not None
                else (m.group(4) if m.group(4) is not None else _literal(m.group(5)))
            )
        return Step("filter", filter_path=fpath, filter_op=m.group(2) or "", filter_value=value)
    raise JSONPathError(f"unsupported JSONPath element [{inner}]")


def _get(value: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    cur = value
    for part in path:
        if not isinstance(cur, Mapping) or part not in cur:
            return False, None
        cur = cur[part]
    return True, cur


def find(steps: list[Step], obj: Any) -> list[Any]:
    """All values the path selects in ``obj`` (empty when nothing matches)."""
    current = [obj]
    for step in steps:
        nxt: list[Any] = []
        for value in current:
            if step.kind == "field":
                if isinstance(value, Mapping) and step.name in value:
                    nxt.append(value[step.name])
            elif step.kind == "index":
                if isinstance(value, list) and -len(value) <= step.index < len(value):
                    nxt.append(value[step.index])
            elif step.kind == "all":
                if isinstance(value, list):
                    nxt.extend(value)
                elif isinstance(value, Mapping):
                    nxt.extend(value[k] for k in sorted(value))
            elif step.kind == "filter" and isinstance(value, list):
                for item in value:
                    found, got = _get(item, step.filter_path)
                    if not step.filter_op:
                        keep = found
                    elif step.filter_op == "==":
                        keep = found and got == step.filter_value
                    else:
                        keep = not found or got != step.filter_value
                    if keep:
                        nxt.append(item)
        current = nxt
    return current
