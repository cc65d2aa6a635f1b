"""Shared validators with upstream's exact messages (apimachinery ``util/validation``).

The ``is_*`` functions return a list of problem descriptions (empty: valid), like upstream's
``IsDNS1123Label``; callers wrap each message in a :class:`~kybernetes.api.errors.FieldError` on their own
path.  The ``validate_*``
helpers return field errors directly.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import Any

from kybernetes.api.errors import FieldError, invalid_value, required

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
DNS1035_LABEL_MAX = 63
LABEL_VALUE_MAX = 63
QUALIFIED_NAME_MAX = 63
TOTAL_ANNOTATION_SIZE = 256 * 1024

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character"
)
_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035_LABEL_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character"
)
_QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QUALIFIED_NAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character"
)
_LABEL_VALUE_FMT = "(" + _QUALIFIED_NAME_FMT + ")?"
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_CONFIG_MAP_KEY_FMT = "[-._a-zA-Z0-9]+"
_CONFIG_MAP_KEY_MSG = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
_ENV_VAR_FMT = "[-._a-zA-Z][-._a-zA-Z0-9]*"
_ENV_VAR_MSG = (
    "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or "
    "'.', and must not start with a digit"
)
_C_IDENT_FMT = "[A-Za-z_][A-Za-z0-9_]*"
_PERCENT_FMT = "[0-9]+%"

_RE = {
    fmt: re.compile("^" + fmt + "$")
    for fmt in (
        _DNS1123_LABEL_FMT,
        _DNS1123_SUBDOMAIN_FMT,
        _DNS1035_LABEL_FMT,
        _QUALIFIED_NAME_FMT,
        _LABEL_VALUE_FMT,
        _CONFIG_MAP_KEY_FMT,
        _ENV_VAR_FMT,
        _C_IDENT_FMT,
        _PERCENT_FMT,
    )
}


def _match(fmt: str, value: str) -> bool:
    return _RE[fmt].fullmatch(value) is not None


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """Upstream's ``RegexError`` (note the double space it produces between examples)."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = "".join(("" if i == 0 else " or ") + f"'{e}', " for i, e in enumerate(examples))
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


def empty_error() -> str:
    return "must be non-empty"


def inclusive_range_error(lo: int, hi: int) -> str:
    return f"must be between {lo} and {hi}, inclusive"


def is_dns1123_label(value: str) -> list[str]:
    errs = []
    if len(value) > DNS1123_LABEL_MAX:
        errs.append(max_len_error(DNS1123_LABEL_MAX))
    if not _match(_DNS1123_LABEL_FMT, value):
        errs.append(regex_error(_DNS1123_LABEL_MSG, _DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def is_dns1123_subdomain(value: str) -> list[str]:
    errs = []
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX))
    if not _match(_DNS1123_SUBDOMAIN_FMT, value):
        errs.append(regex_error(_DNS1123_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def is_dns1035_label(value: str) -> list[str]:
    errs = []
    if len(value) > DNS1035_LABEL_MAX:
        errs.append(max_len_error(DNS1035_LABEL_MAX))
    if not _match(_DNS1035_LABEL_FMT, value):
        errs.append(regex_error(_DNS1035_LABEL_MSG, _DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errs


def is_qualified_name(value: str) -> list[str]:
    """``[prefix/]name`` as label keys and annotation keys use."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part " + empty_error())
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(prefix))
    else:
        return [
            "a qualified name "
            + regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part " + empty_error())
    elif len(name) > QUALIFIED_NAME_MAX:
        errs.append("name part " + max_len_error(QUALIFIED_NAME_MAX))
    if name and not _match(_QUALIFIED_NAME_FMT, name):
        errs.append(
            "name part "
            + regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errs


def is_valid_label_value(value: str) -> list[str]:
    errs = []
    if len(value) > LABEL_VALUE_MAX:
        errs.append(max_len_error(LABEL_VALUE_MAX))
    if not _match(_LABEL_VALUE_FMT, value):
        errs.append(regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def is_config_map_key(value: str) -> list[str]:
    """Keys of ConfigMap/Secret data."""
    errs = []
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX))
    if not _match(_CONFIG_MAP_KEY_FMT, value):
        errs.append(regex_error(_CONFIG_MAP_KEY_MSG, _CONFIG_MAP_KEY_FMT, "key.name", "KEY_NAME", "key-name"))
    if value == ".":
        errs.append("must not be '.'")
    elif value == "..":
        errs.append("must not be '..'")
    elif value.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def is_env_var_name(value: str) -> list[str]:
    errs = []
    if not _match(_ENV_VAR_FMT, value):
        errs.append(regex_error(_ENV_VAR_MSG, _ENV_VAR_FMT, "my.env-name", "MY_ENV.NAME", "MyEnvName1"))
    errs.extend(_has_chars_other_than_dot(value))
    return errs


def _has_chars_other_than_dot(value: str) -> list[str]:
    if value == ".":
        return ["must not be '.'"]
    if value == "..":
        return ["must not be '..'"]
    if value.startswith(".."):
        return ["must not start with '..'"]
    return []


def is_c_identifier(value: str) -> list[str]:
    if _match(_C_IDENT_FMT, value):
        return []
    return [
        regex_error(
            "a valid C identifier must start with alphabetic character or '_', followed by a string "
            "of alphanumeric characters or '_'",
            _C_IDENT_FMT,
            "my_name",
            "MY_NAME",
            "MyName",
        )
    ]


def is_valid_port_num(port: int) -> list[str]:
    if 1 <= port <= 65535:
        return []
    return [inclusive_range_error(1, 65535)]


def is_in_range(value: int, lo: int, hi: int) -> list[str]:
    return [] if lo <= value <= hi else [inclusive_range_error(lo, hi)]


_PORT_NAME_CHARSET = re.compile(r"^[-a-z0-9]+$")
_PORT_NAME_ONE_LETTER = re.compile(r".*[a-z].*")


def is_valid_port_name(name: str) -> list[str]:
    """IANA_SVC_NAME rules, as upstream's ``IsValidPortName``."""
    errs = []
    if len(name) > 15:
        errs.append(max_len_error(15))
    if not _PORT_NAME_CHARSET.match(name):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _PORT_NAME_ONE_LETTER.match(name):
        errs.append("must contain at least one letter (a-z)")
    if "--" in name:
        errs.append("must not contain consecutive hyphens")
    if name and (name[0] == "-" or name[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def is_valid_ip(value: str) -> list[str]:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return ["must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"]
    return []


def is_valid_cidr(value: str) -> list[str]:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return ["must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"]
    return []


def is_valid_percent(value: str) -> bool:
    return _match(_PERCENT_FMT, value)


def mask_trailing_dash(name: str) -> str:
    """What upstream validates for a ``generateName`` prefix: a trailing dash stands for the suffix."""
    if len(name) > 1 and name.endswith("-"):
        return name[:-2] + "a"
    return name


NameValidator = Callable[[str, bool], list[str]]


def name_is_dns_subdomain(name: str, prefix: bool) -> list[str]:
    return is_dns1123_subdomain(mask_trailing_dash(name) if prefix else name)


def name_is_dns_label(name: str, prefix: bool) -> list[str]:
    return is_dns1123_label(mask_trailing_dash(name) if prefix else name)


def name_is_dns1035_label(name: str, prefix: bool) -> list[str]:
    return is_dns1035_label(mask_trailing_dash(name) if prefix else name)


def validate_path_segment_name(name: str, prefix: bool) -> list[str]:
    """Names that only need to be usable as a URL path segment (RBAC-style kinds, custom resources)."""
    if not prefix and name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def validate_labels(labels: Any, path: str) -> list[FieldError]:
    """Label keys must be qualified names, values label values; errors are on the map path, like upstream."""
    if not isinstance(labels, Mapping):
        return []
    errs: list[FieldError] = []
    for key, value in labels.items():
        errs.extend(invalid_value(path, key, m) for m in is_qualified_name(key))
        if isinstance(value, str):
            errs.extend(invalid_value(path, value, m) for m in is_valid_label_value(value))
    return errs


def validate_annotations(annotations: Any, path: str) -> list[FieldError]:
    if not isinstance(annotations, Mapping):
        return []
    errs: list[FieldError] = []
    total = 0
    for key, value in annotations.items():
        errs.extend(invalid_value(path, key, m) for m in is_qualified_name(key.lower()))
        total += len(key) + len(value if isinstance(value, str) else "")
    if total > TOTAL_ANNOTATION_SIZE:
        errs.append(FieldError("FieldValueTooLong", path, f"must have at most {TOTAL_ANNOTATION_SIZE} bytes"))
    return errs


def validate_nonnegative(value: Any, path: str) -> list[FieldError]:
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        return [invalid_value(path, value, "must be greater than or equal to 0")]
    return []


def validate_positive(value: Any, path: str) -> list[FieldError]:
    if isinstance(value, int) and not isinstance(value, bool) and value <= 0:
        return [invalid_value(path, value, "must be greater than 0")]
    return []


def validate_dns1123_label_field(value: Any, path: str) -> list[FieldError]:
    """A required DNS-1123 label field (container name, volume name, …)."""
    if not value:
        return [required(path)]
    return [invalid_value(path, value, m) for m in is_dns1123_label(str(value))]


def go_repr(value: Any) -> str:
    """Render a JSON value roughly as Go's ``%#v`` of the typed field prints it (for Invalid-value messages).

    Only the shapes upstream messages commonly show are exact: strings, numbers, ``map[string]string``.
    """
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values()):
        inner = ", ".join(f"{go_repr(k)}:{go_repr(v)}" for k, v in sorted(value.items()))
        return "map[string]string{" + inner + "}" if value else "map[string]string(nil)"
    import orjson

    return orjson.dumps(value).decode()


def invalid_rendered(path: str, rendered: str, detail: str) -> FieldError:
    """An Invalid error whose value is already rendered (Go-style) text, not a JSON value."""
    return FieldError("FieldValueInvalid", path, f"{rendered}: {detail}" if detail else rendered)


def label_selector_repr(selector: Any) -> str:
    """Gos ``%#v`` of a LabelSelector: ``v1.LabelSelector{MatchLabels:…, MatchExpressions:…}``."""
    if not isinstance(selector, Mapping):
        return "nil"
    labels = selector.get("matchLabels")
    ml = go_repr(labels) if labels else "map[string]string(nil)"
    exprs = selector.get("matchExpressions") or []
    if not exprs:
        me = "[]v1.LabelSelectorRequirement(nil)"
    else:
        items = []
        for e in exprs:
            vals = e.get("values")
            vs = ("[]string{" + ", ".join(go_repr(v) for v in vals) + "}") if vals else "[]string(nil)"
            items.append(
                f"v1.LabelSelectorRequirement{{Key:{go_repr(e.get('key', ''))}, "
                f"Operator:{go_repr(e.get('operator', ''))}, Values:{vs}}}"
            )
        me = "[]v1.LabelSelectorRequirement{" + ", ".join(items) + "}"
    return f"v1.LabelSelector{{MatchLabels:{ml}, MatchExpressions:{me}}}"


def validate_immutable(new: Any, old: Any, path: str) -> list[FieldError]:
    """Upstream's ``ValidateImmutableField``: ``<path>: Invalid value: <new>: field is immutable``."""
    if new == old:
        return []
    return [invalid_rendered(path, go_repr(new), "field is immutable")]
