"""Shared validators: upstream's exact messages."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kybernetes.api import validation as v

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
    "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
QNAME_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
    "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


@pytest.mark.parametrize(
    ("fn", "value", "want"),
    [
        pytest.param(v.is_dns1123_subdomain, "web.example", [], id="subdomain-ok"),
        pytest.param(v.is_dns1123_subdomain, "Web", [SUBDOMAIN_MSG], id="subdomain-upper"),
        pytest.param(
            v.is_dns1123_subdomain, "a" * 254, ["must be no more than 253 characters"], id="subdomain-long"
        ),
        pytest.param(v.is_dns1123_label, "my-ns", [], id="label-ok"),
        pytest.param(v.is_dns1123_label, "a.b", [LABEL_MSG], id="label-dot"),
        pytest.param(v.is_dns1123_label, "a" * 64, ["must be no more than 63 characters"], id="label-long"),
        pytest.param(v.is_dns1035_label, "web", [], id="1035-ok"),
        pytest.param(v.is_dns1035_label, "1web", [DNS1035_MSG], id="1035-digit-first"),
        pytest.param(v.is_qualified_name, "app.kubernetes.io/name", [], id="qname-prefixed"),
        pytest.param(v.is_qualified_name, "-bad", [QNAME_MSG], id="qname-bad"),
        pytest.param(v.is_qualified_name, "/x", ["prefix part must be non-empty"], id="qname-empty-prefix"),
        pytest.param(v.is_qualified_name, "x/", ["name part must be non-empty"], id="qname-empty-name"),
        pytest.param(v.is_valid_label_value, "", [], id="label-value-empty"),
        pytest.param(v.is_valid_label_value, "a b", [LABEL_VALUE_MSG], id="label-value-space"),
        pytest.param(v.is_valid_port_name, "http", [], id="port-name-ok"),
        pytest.param(
            v.is_valid_port_name, "123", ["must contain at least one letter (a-z)"], id="port-name-digits"
        ),
        pytest.param(
            v.is_valid_port_name, "a--b", ["must not contain consecutive hyphens"], id="port-name-hyphens"
        ),
        pytest.param(
            v.is_valid_port_name, "a" * 16, ["must be no more than 15 characters"], id="port-name-long"
        ),
        pytest.param(v.is_valid_port_num, 0, ["must be between 1 and 65535, inclusive"], id="port-zero"),
        pytest.param(v.is_valid_port_num, 65535, [], id="port-max"),
        pytest.param(v.is_config_map_key, "..x", ["must not start with '..'"], id="cm-key-dots"),
        pytest.param(v.is_valid_ip, "10.0.0.1", [], id="ip-ok"),
        pytest.param(
            v.is_valid_ip,
            "10.0.0",
            ["must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"],
            id="ip-bad",
        ),
    ],
)
def test_messages(fn: Callable[..., list[str]], value: object, want: list[str]) -> None:
    assert fn(value) == want


@pytest.mark.parametrize(
    ("name", "prefix", "ok"),
    [
        pytest.param("web-", True, True, id="generate-name-trailing-dash"),
        pytest.param("web-", False, False, id="name-trailing-dash"),
        pytest.param("-", True, False, id="lone-dash"),
    ],
)
def test_generate_name_prefix(name: str, prefix: bool, ok: bool) -> None:
    assert (v.name_is_dns_subdomain(name, prefix) == []) is ok


def test_labels_errors_are_on_the_map_path() -> None:
    errs = v.validate_labels({"ok": "x", "bad key!": "v", "k": "bad value!"}, "metadata.labels")
    assert [e.field for e in errs] == ["metadata.labels", "metadata.labels"]
    assert errs[0].message().startswith('Invalid value: "bad key!": name part must consist of')
    assert errs[1].message().startswith('Invalid value: "bad value!": a valid label must be')


def test_go_repr_and_immutable() -> None:
    assert v.go_repr({"b": "2", "a": "1"}) == 'map[string]string{"a":"1", "b":"2"}'
    err = v.validate_immutable("10.0.0.2", "10.0.0.1", "spec.clusterIP")[0]
    assert err.error() == 'spec.clusterIP: Invalid value: "10.0.0.2": field is immutable'
    assert v.label_selector_repr({"matchLabels": {"app": "b"}}) == (
        'v1.LabelSelector{MatchLabels:map[string]string{"app":"b"}, '
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}"
    )
