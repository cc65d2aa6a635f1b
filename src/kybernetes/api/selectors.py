"""Label and field selectors, parsed and matched like apimachinery's ``labels`` and ``fields`` packages.

Label selectors (``labelSelector=`` query, ``matchLabels``/``matchExpressions`` objects):

* :func:`parse_label_selector` parses the string syntax (``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``,
  ``a notin (x)``, ``a``, ``!a``, ``a>1``, ``a<1``, comma-joined).  Malformed input raises a 400
  :class:`~kybernetes.api.errors.StatusError` carrying upstream's message.
* :func:`selector_from_label_selector` builds a :class:`LabelSelector` from a ``metav1.LabelSelector`` dict
  (``None`` matches nothing, ``{}`` matches everything, as upstream).
* :func:`selector_string` / :func:`format_label_selector` render the string forms (Scale ``status.selector``,
  ``kubectl describe``, wide table columns).

Field selectors (``fieldSelector=`` query): :func:`parse_field_selector` (``=``, ``==``, ``!=``, comma-joined,
``\\`` escapes), :func:`field_values` (the selectable fields of one object for a registry resource) and
:func:`validate_field_selector` (400 ``field label not supported: <label>`` for unknown fields).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kybernetes.api import errors
from kybernetes.api.registry import Resource
from kybernetes.api.validation import is_qualified_name, is_valid_label_value

# Operators, spelled as upstream's selection.Operator values.
IN = "in"
NOT_IN = "notin"
EQUALS = "="
DOUBLE_EQUALS = "=="
NOT_EQUALS = "!="
EXISTS = "exists"
DOES_NOT_EXIST = "!"
GREATER_THAN = "gt"
LESS_THAN = "lt"

_BINARY_OPERATORS = (IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN)


# --------------------------------------------------------------------------------------------------- labels


@dataclass(frozen=True)
class Requirement:
    """One ``key <op> values`` term; ``values`` keeps the order given (String() sorts them)."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op in (IN, EQUALS, DOUBLE_EQUALS):
            return self.key in labels and labels[self.key] in self.values
        if op in (NOT_IN, NOT_EQUALS):
            return self.key not in labels or labels[self.key] not in self.values
        if op == EXISTS:
            return self.key in labels
        if op == DOES_NOT_EXIST:
            return self.key not in labels
        if op in (GREATER_THAN, LESS_THAN):
            if self.key not in labels or len(self.values) != 1:
                return False
            have, want = _parse_int(labels[self.key]), _parse_int(self.values[0])
            if have is None or want is None:
                return False
            return have > want if op == GREATER_THAN else have < want
        return False

    def __str__(self) -> str:
        op = self.operator
        if op == EXISTS:
            return self.key
        if op == DOES_NOT_EXIST:
            return "!" + self.key
        values = self.values[0] if len(self.values) == 1 else ",".join(sorted(self.values))
        if op in (IN, NOT_IN):
            return f"{self.key} {op} ({values})"
        symbol = {GREATER_THAN: ">", LESS_THAN: "<"}.get(op, op)
        return f"{self.key}{symbol}{values}"


@dataclass(frozen=True)
class LabelSelector:
    """AND of requirements, sorted by key.  ``nothing=True`` is upstream's ``labels.Nothing()``."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.nothing:
            return False
        have = labels or {}
        return all(r.matches(have) for r in self.requirements)

    @property
    def empty(self) -> bool:
        """True when the selector does not restrict anything (matches every object)."""
        return not self.nothing and not self.requirements

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


EVERYTHING = LabelSelector()
NOTHING = LabelSelector(nothing=True)


def _parse_int(text: str) -> int | None:
    try:
        return int(text, 10)
    except ValueError:
        return None


def _invalid(path: str, value: Any, detail: str) -> str:
    return errors.invalid_value(path, value, detail).error()


def _aggregate(messages: list[str]) -> str:
    return messages[0] if len(messages) == 1 else "[" + ", ".join(messages) + "]"


def _requirement_errors(key: str, op: str, values: list[str], path: str = "") -> list[str]:
    """Upstream ``NewRequirement`` validation; ``path`` prefixes the field names (empty: none)."""

    def child(name: str) -> str:
        return f"{path}.{name}" if path else name

    errs: list[str] = []
    key_problems = is_qualified_name(key)
    if key_problems:
        errs.append(_invalid(child("key"), key, "; ".join(key_problems)))
    vpath = child("values")
    if op in (IN, NOT_IN):
        if not values:
            errs.append(_invalid(vpath, values, "for 'in', 'notin' operators, values set can't be empty"))
    elif op in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS):
        if len(values) != 1:
            errs.append(_invalid(vpath, values, "exact-match compatibility requires one single value"))
    elif op in (EXISTS, DOES_NOT_EXIST):
        if values:
            errs.append(_invalid(vpath, values, "values set must be empty for exists and does not exist"))
    elif op in (GREATER_THAN, LESS_THAN):
        if len(values) != 1:
            errs.append(_invalid(vpath, values, "for 'Gt', 'Lt' operators, exactly one value is required"))
        for i, v in enumerate(values):
            if _parse_int(v) is None:
                errs.append(
                    _invalid(f"{vpath}[{i}]", v, "for 'Gt', 'Lt' operators, the value must be an integer")
                )
    else:
        ops = (*_BINARY_OPERATORS, EXISTS, DOES_NOT_EXIST)
        errs.append(errors.not_supported(child("operator"), op, list(ops)).error())
    for i, v in enumerate(values):
        problems = is_valid_label_value(v)
        if problems:
            errs.append(_invalid(f"{vpath}[{i}][{key}]", v, "; ".join(problems)))
    return errs


# Lexer tokens.
_END, _CLOSE, _COMMA, _NOT, _DEQ, _EQ, _GT, _IDENT, _IN, _LT, _NEQ, _NOTIN, _OPEN, _ERROR = range(14)
_TOKENS = {
    ")": _CLOSE,
    ",": _COMMA,
    "!": _NOT,
    "==": _DEQ,
    "=": _EQ,
    ">": _GT,
    "in": _IN,
    "<": _LT,
    "!=": _NEQ,
    "notin": _NOTIN,
    "(": _OPEN,
}
_SPECIAL = set("=!(),><")
_SPACE = set(" \t\r\n")


def _lex(text: str) -> list[tuple[int, str]]:
    items: list[tuple[int, str]] = []
    pos, n = 0, len(text)
    while True:
        while pos < n and text[pos] in _SPACE:
            pos += 1
        if pos >= n:
            items.append((_END, ""))
            return items
        if text[pos] in _SPECIAL:
            buf, last = "", (0, "")
            while pos < n and text[pos] in _SPECIAL:
                buf += text[pos]
                if buf in _TOKENS:
                    last = (_TOKENS[buf], buf)
                    pos += 1
                elif last[0]:
                    break
                else:
                    pos += 1
            items.append(last if last[0] else (_ERROR, f"error expected: keyword found '{buf}'"))
        else:
            start = pos
            while pos < n and text[pos] not in _SPECIAL and text[pos] not in _SPACE:
                pos += 1
            word = text[start:pos]
            items.append((_TOKENS.get(word, _IDENT), word))


class _Parser:
    def __init__(self, text: str) -> None:
        self.items = _lex(text)
        self.pos = 0

    def _tok(self, index: int, values: bool) -> tuple[int, str]:
        tok, lit = self.items[index]
        if values and tok in (_IN, _NOTIN):
            tok = _IDENT
        return tok, lit

    def peek(self, values: bool = True) -> tuple[int, str]:
        return self._tok(self.pos, values)

    def take(self, values: bool = True) -> tuple[int, str]:
        self.pos += 1
        return self._tok(self.pos - 1, values)

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            tok, lit = self.peek()
            if tok == _END:
                return reqs
            if tok not in (_IDENT, _NOT):
                raise ValueError(f"found '{lit}', expected: !, identifier, or 'end of string'")
            try:
                reqs.append(self.requirement())
            except ValueError as e:
                raise ValueError(f"unable to parse requirement: {e}") from None
            tok, lit = self.take()
            if tok == _END:
                return reqs
            if tok != _COMMA:
                raise ValueError(f"found '{lit}', expected: ',' or 'end of string'")
            tok2, lit2 = self.peek()
            if tok2 not in (_IDENT, _NOT):
                raise ValueError(f"found '{lit2}', expected: identifier after ','")

    def requirement(self) -> Requirement:
        operator = ""
        tok, key = self.take()
        if tok == _NOT:
            operator = DOES_NOT_EXIST
            tok, key = self.take()
        if tok != _IDENT:
            raise ValueError(f"found '{key}', expected: identifier")
        problems = is_qualified_name(key)
        if problems:
            raise ValueError(_invalid("<nil>", key, "; ".join(problems)))
        if self.peek()[0] in (_END, _COMMA):
            operator = operator or EXISTS
        values: list[str] = []
        if operator not in (EXISTS, DOES_NOT_EXIST):
            tok, lit = self.take(values=False)
            ops = {
                _IN: IN,
                _EQ: EQUALS,
                _DEQ: DOUBLE_EQUALS,
                _GT: GREATER_THAN,
                _LT: LESS_THAN,
                _NOTIN: NOT_IN,
                _NEQ: NOT_EQUALS,
            }
            if tok not in ops:
                raise ValueError(f"found '{lit}', expected: {', '.join(_BINARY_OPERATORS)}")
            operator = ops[tok]
            values = sorted(self.set_values() if operator in (IN, NOT_IN) else self.exact_value())
        problems = _requirement_errors(key, operator, values)
        if problems:
            raise ValueError(_aggregate(problems))
        return Requirement(key, operator, tuple(values))

    def set_values(self) -> set[str]:
        tok, lit = self.take()
        if tok != _OPEN:
            raise ValueError(f"found '{lit}' expected: '('")
        tok, lit = self.peek()
        if tok == _CLOSE:
            self.take()
            return {""}
        if tok not in (_IDENT, _COMMA):
            raise ValueError(f"found '{lit}', expected: ',', ')' or identifier")
        found = self.identifiers()
        if self.take()[0] != _CLOSE:
            raise ValueError(f"found '{lit}', expected: ')'")
        return found

    def identifiers(self) -> set[str]:
        found: set[str] = set()
        while True:
            tok, lit = self.take()
            if tok == _IDENT:
                found.add(lit)
                tok2, lit2 = self.peek()
                if tok2 == _COMMA:
                    continue
                if tok2 == _CLOSE:
                    return found
                raise ValueError(f"found '{lit2}', expected: ',' or ')'")
            if tok == _COMMA:
                if not found:
                    found.add("")
                tok2 = self.peek()[0]
                if tok2 == _CLOSE:
                    found.add("")
                    return found
                if tok2 == _COMMA:
                    found.add("")
                continue
            raise ValueError(f"found '{lit}', expected: ',', or identifier")

    def exact_value(self) -> set[str]:
        tok, _ = self.peek()
        if tok in (_END, _COMMA):
            return {""}
        tok, lit = self.take()
        if tok == _IDENT:
            return {lit}
        raise ValueError(f"found '{lit}', expected: identifier")


def parse_label_selector(text: str) -> LabelSelector:
    """Parse a ``labelSelector`` string like upstream ``labels.Parse``; 400 on malformed input."""
    try:
        reqs = _Parser(text).parse()
    except ValueError as e:
        raise errors.bad_request(str(e)) from None
    return LabelSelector(tuple(sorted(reqs, key=lambda r: r.key)))


_EXPRESSION_OPS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


def selector_from_label_selector(spec: Mapping[str, Any] | None) -> LabelSelector:
    """``metav1.LabelSelectorAsSelector``: ``None`` → nothing, ``{}`` → everything; 400 if malformed."""
    if spec is None:
        return NOTHING
    match_labels = spec.get("matchLabels") or {}
    expressions = spec.get("matchExpressions") or []
    if not match_labels and not expressions:
        return EVERYTHING
    reqs: list[Requirement] = []
    problems: list[str] = []
    for key, value in match_labels.items():
        problems += _requirement_errors(str(key), EQUALS, [str(value)])
        reqs.append(Requirement(str(key), EQUALS, (str(value),)))
    for expr in expressions:
        op_name = str(expr.get("operator", ""))
        if op_name not in _EXPRESSION_OPS:
            raise errors.bad_request(f'"{op_name}" is not a valid label selector operator')
        op = _EXPRESSION_OPS[op_name]
        values = [str(v) for v in expr.get("values") or []]
        problems += _requirement_errors(str(expr.get("key", "")), op, values)
        reqs.append(Requirement(str(expr.get("key", "")), op, tuple(values)))
    if problems:
        raise errors.bad_request(_aggregate(problems))
    return LabelSelector(tuple(sorted(reqs, key=lambda r: r.key)))


def selector_string(spec: Mapping[str, Any] | None) -> str:
    """The selector's string form (``app=nginx,tier in (a,b)``); empty for ``None``/``{}``."""
    return str(selector_from_label_selector(spec))


def format_label_selector(spec: Mapping[str, Any] | None) -> str:
    """``metav1.FormatLabelSelector``: :func:`selector_string`, ``<none>`` if empty, ``<error>`` if bad."""
    try:
        text = selector_string(spec)
    except errors.StatusError:
        return "<error>"
    return text or "<none>"


def format_labels(labels: Mapping[str, Any] | None) -> str:
    """``labels.FormatLabels``: sorted ``k=v`` joined by commas, ``<none>`` if empty."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def matches_labels(selector: LabelSelector, obj: Mapping[str, Any]) -> bool:
    """True if the object's ``metadata.labels`` satisfy ``selector``."""
    return selector.matches((obj.get("metadata") or {}).get("labels") or {})


# --------------------------------------------------------------------------------------------------- fields


@dataclass(frozen=True)
class FieldTerm:
    field: str
    operator: str  # "=", "==" or "!="
    value: str

    def matches(self, values: Mapping[str, str]) -> bool:
        have = values.get(self.field, "")
        return have != self.value if self.operator == NOT_EQUALS else have == self.value

    def __str__(self) -> str:
        op = "!=" if self.operator == NOT_EQUALS else "="
        return f"{self.field}{op}{escape_field_value(self.value)}"


@dataclass(frozen=True)
class FieldSelector:
    """AND of field terms (sorted, as upstream parses them)."""

    terms: tuple[FieldTerm, ...] = field(default_factory=tuple)

    @property
    def empty(self) -> bool:
        return not self.terms

    def matches(self, values: Mapping[str, str]) -> bool:
        return all(t.matches(values) for t in self.terms)

    def __str__(self) -> str:
        return ",".join(str(t) for t in self.terms)


def escape_field_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def _unescape_field_value(value: str) -> str:
    if "\\" not in value and "=" not in value and "," not in value:
        return value
    out: list[str] = []
    in_slash = False
    for c in value:
        if in_slash:
            if c not in "\\,=":
                raise errors.bad_request(f"invalid field selector: invalid escape sequence: \\{c}")
            out.append(c)
            in_slash = False
        elif c in ",=":
            raise errors.bad_request(f"invalid field selector: unescaped character in value: {ord(c)}")
        elif c == "\\":
            in_slash = True
        else:
            out.append(c)
    if in_slash:
        raise errors.bad_request("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _split_terms(text: str) -> list[str]:
    terms: list[str] = []
    start, in_slash = 0, False
    for i, c in enumerate(text):
        if in_slash:
            in_slash = False
        elif c == "\\":
            in_slash = True
        elif c == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def parse_field_selector(text: str) -> FieldSelector:
    """Parse a ``fieldSelector`` string like upstream ``fields.ParseSelector``; 400 on malformed input."""
    if not text:
        return FieldSelector()
    terms: list[FieldTerm] = []
    for part in sorted(_split_terms(text)):
        if not part:
            continue
        for i in range(len(part)):
            op = next((o for o in ("!=", "==", "=") if part.startswith(o, i)), None)
            if op is not None:
                value = _unescape_field_value(part[i + len(op) :])
                terms.append(FieldTerm(part[:i], NOT_EQUALS if op == "!=" else EQUALS, value))
                break
        else:
            raise errors.bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
    return FieldSelector(tuple(terms))


# Selectable field names whose value is not at the same dotted path (upstream ToSelectableFields).
_FIELD_ALIASES = {
    ("", "Event"): {"source": "source.component"},
    ("batch", "Job"): {"status.successful": "status.succeeded"},
}


def _lookup(obj: Mapping[str, Any], path: str) -> Any:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(part)
    return cur


def _field_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        # status.podIPs: the IPs, comma-joined
        return ",".join(str(v.get("ip", "")) if isinstance(v, Mapping) else str(v) for v in value)
    if isinstance(value, Mapping):
        return ""
    return str(value)


def field_values(resource: Resource, obj: Mapping[str, Any],
                 only: Iterable[str] | None = None) -> dict[str, str]:
    """The selectable fields of ``obj`` served as ``resource``: metadata.name, metadata.namespace and the
    resource's ``field_selectors``, each as a string (absent → ``""``, booleans ``true``/``false``); with
    ``only``, just those of them (what a selector's terms need).

    ``obj`` may be in the resource's own version or in its storage version (events, HPAs): it is converted
    first when its ``apiVersion`` differs.
    """
    from kybernetes.api.conversion import can_convert, convert

    api_version = str(obj.get("apiVersion") or "")
    if api_version and api_version != resource.api_version and can_convert(obj, resource.api_version):
        obj = convert(dict(obj), resource.api_version)
    meta = obj.get("metadata") or {}
    out = {
        "metadata.name": str(meta.get("name") or ""),
        "metadata.namespace": str(meta.get("namespace") or ""),
    }
    aliases = _FIELD_ALIASES.get((resource.group, resource.kind), {})
    wanted = resource.field_selectors if only is None else [n for n in only if n in resource.field_selectors]
    for name in wanted:
        out[name] = _field_text(_lookup(obj, aliases.get(name, name)))
    return out


def validate_field_selector(resource: Resource, selector: FieldSelector) -> None:
    """400 ``field label not supported: <label>`` for the first term the resource cannot select on."""
    supported = {"metadata.name", "metadata.namespace", *resource.field_selectors}
    for term in selector.terms:
        if term.field not in supported:
            raise errors.bad_request(f"field label not supported: {term.field}")


def matches_fields(resource: Resource, selector: FieldSelector, obj: Mapping[str, Any]) -> bool:
    """True if ``obj`` (served as ``resource``) satisfies ``selector``."""
    if selector.empty:
        return True
    return selector.matches(field_values(resource, obj, [t.field for t in selector.terms]))
