"""Label and field selectors: parsing (upstream messages on errors), string forms and matching."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.api.errors import StatusError
from kybernetes.api.registry import RESOURCES, Resource
from kybernetes.api.selectors import (
    field_values,
    format_label_selector,
    format_labels,
    matches_fields,
    matches_labels,
    parse_field_selector,
    parse_label_selector,
    selector_from_label_selector,
    selector_string,
    validate_field_selector,
)

NAME_PART_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
    "an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
    "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
    "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        pytest.param("", "", id="empty"),
        pytest.param("app=web", "app=web", id="equals"),
        pytest.param("app==web", "app==web", id="double-equals"),
        pytest.param("app!=web", "app!=web", id="not-equals"),
        pytest.param(" b = 1 , a in ( y , x ) ", "a in (x,y),b=1", id="spaces-sorted-by-key"),
        pytest.param("tier notin (db,cache)", "tier notin (cache,db)", id="notin"),
        pytest.param("app", "app", id="exists"),
        pytest.param("!app", "!app", id="does-not-exist"),
        pytest.param("x=", "x=", id="empty-value"),
        pytest.param("x in ()", "x in ()", id="empty-set"),
        pytest.param("x in (a,,b)", "x in (,a,b)", id="set-with-empty"),
        pytest.param("in in (in,notin)", "in in (in,notin)", id="keywords-as-values"),
        pytest.param("example.com/role=db", "example.com/role=db", id="prefixed-key"),
        pytest.param("n>3,m<10", "m<10,n>3", id="gt-lt"),
    ],
)
def test_parse_label_selector(text: str, canonical: str) -> None:
    assert str(parse_label_selector(text)) == canonical


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "a b",
            "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt",
            id="missing-operator",
        ),
        pytest.param(",x", "found ',', expected: !, identifier, or 'end of string'", id="leading-comma"),
        pytest.param("=a", "found '=', expected: !, identifier, or 'end of string'", id="leading-operator"),
        pytest.param("x,", "found '', expected: identifier after ','", id="trailing-comma"),
        pytest.param("x=a b", "found 'b', expected: ',' or 'end of string'", id="trailing-word"),
        pytest.param("!x=a", "found '=', expected: ',' or 'end of string'", id="not-with-value"),
        pytest.param(
            "x in (a,b", "unable to parse requirement: found '', expected: ',' or ')'", id="unclosed-set"
        ),
        pytest.param(
            "x in a", "unable to parse requirement: found 'a' expected: '('", id="set-without-paren"
        ),
        pytest.param(
            "x in (=)",
            "unable to parse requirement: found '=', expected: ',', ')' or identifier",
            id="operator-in-set",
        ),
        pytest.param(
            "x=(a)", "unable to parse requirement: found '(', expected: identifier", id="paren-as-value"
        ),
        pytest.param(
            "-x=a", f'unable to parse requirement: <nil>: Invalid value: "-x": {NAME_PART_MSG}', id="bad-key"
        ),
        pytest.param(
            "x=a$b",
            f'unable to parse requirement: values[0][x]: Invalid value: "a$b": {VALUE_MSG}',
            id="bad-value",
        ),
        pytest.param(
            "x>a",
            "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' "
            "operators, the value must be an integer",
            id="gt-not-integer",
        ),
    ],
)
def test_parse_label_selector_errors(text: str, message: str) -> None:
    with pytest.raises(StatusError) as exc:
        parse_label_selector(text)
    assert (exc.value.code, exc.value.reason, exc.value.message) == (400, "BadRequest", message)


LABELS = {"app": "web", "tier": "front", "n": "5", "empty": ""}


@pytest.mark.parametrize(
    ("text", "labels", "want"),
    [
        pytest.param("", LABELS, True, id="everything"),
        pytest.param("", None, True, id="everything-no-labels"),
        pytest.param("app=web", LABELS, True, id="equals-hit"),
        pytest.param("app=db", LABELS, False, id="equals-miss"),
        pytest.param("missing=x", LABELS, False, id="equals-absent"),
        pytest.param("app!=db", LABELS, True, id="not-equals-hit"),
        pytest.param("missing!=x", LABELS, True, id="not-equals-absent"),
        pytest.param("app!=web", LABELS, False, id="not-equals-miss"),
        pytest.param("tier in (front,back)", LABELS, True, id="in-hit"),
        pytest.param("tier notin (front)", LABELS, False, id="notin-miss"),
        pytest.param("missing notin (front)", LABELS, True, id="notin-absent"),
        pytest.param("app", LABELS, True, id="exists"),
        pytest.param("!app", LABELS, False, id="not-exists"),
        pytest.param("!missing", None, True, id="not-exists-no-labels"),
        pytest.param("empty=", LABELS, True, id="empty-value"),
        pytest.param("n>4,n<6", LABELS, True, id="gt-lt-hit"),
        pytest.param("n>5", LABELS, False, id="gt-miss"),
        pytest.param("app>1", LABELS, False, id="gt-non-numeric-label"),
        pytest.param("app=web,tier=back", LABELS, False, id="and"),
    ],
)
def test_label_matching(text: str, labels: dict[str, str] | None, want: bool) -> None:
    assert parse_label_selector(text).matches(labels) is want
    assert matches_labels(parse_label_selector(text), {"metadata": {"labels": labels}}) is want


@pytest.mark.parametrize(
    ("spec", "string", "formatted", "matches"),
    [
        pytest.param(None, "", "<none>", False, id="nil-matches-nothing"),
        pytest.param({}, "", "<none>", True, id="empty-matches-everything"),
        pytest.param({"matchLabels": {"app": "web"}}, "app=web", "app=web", True, id="match-labels"),
        pytest.param(
            {
                "matchLabels": {"tier": "front", "app": "web"},
                "matchExpressions": [
                    {"key": "env", "operator": "Exists"},
                    {"key": "zone", "operator": "NotIn", "values": ["b", "a"]},
                    {"key": "gone", "operator": "DoesNotExist"},
                ],
            },
            "app=web,env,!gone,tier=front,zone notin (a,b)",
            "app=web,env,!gone,tier=front,zone notin (a,b)",
            False,
            id="expressions",
        ),
        pytest.param(
            {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}]},
            "tier in (front)",
            "tier in (front)",
            True,
            id="in",
        ),
    ],
)
def test_label_selector_objects(
    spec: dict[str, Any] | None, string: str, formatted: str, matches: bool
) -> None:
    assert selector_string(spec) == string
    assert format_label_selector(spec) == formatted
    assert selector_from_label_selector(spec).matches(LABELS) is matches


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        pytest.param(
            {"matchExpressions": [{"key": "a", "operator": "Foo"}]},
            '"Foo" is not a valid label selector operator',
            id="bad-operator",
        ),
        pytest.param(
            {"matchExpressions": [{"key": "a", "operator": "In", "values": []}]},
            "for 'in', 'notin' operators, values set can't be empty",
            id="in-without-values",
        ),
        pytest.param(
            {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
            "values set must be empty for exists and does not exist",
            id="exists-with-values",
        ),
        pytest.param({"matchLabels": {"bad key": "x"}}, 'key: Invalid value: "bad key"', id="bad-key"),
    ],
)
def test_label_selector_object_errors(spec: dict[str, Any], fragment: str) -> None:
    with pytest.raises(StatusError) as exc:
        selector_from_label_selector(spec)
    assert exc.value.code == 400 and fragment in exc.value.message
    assert format_label_selector(spec) == "<error>"


@pytest.mark.parametrize(
    ("labels", "want"),
    [
        pytest.param(None, "<none>", id="none"),
        pytest.param({}, "<none>", id="empty"),
        pytest.param({"b": "2", "a": "1"}, "a=1,b=2", id="sorted"),
    ],
)
def test_format_labels(labels: dict[str, str] | None, want: str) -> None:
    assert format_labels(labels) == want


# ------------------------------------------------------------------------------------------ field selectors


@pytest.mark.parametrize(
    ("text", "canonical", "values", "want"),
    [
        pytest.param("", "", {}, True, id="empty"),
        pytest.param("metadata.name=web", "metadata.name=web", {"metadata.name": "web"}, True, id="equals"),
        pytest.param(
            "metadata.name==web", "metadata.name=web", {"metadata.name": "db"}, False, id="double-equals"
        ),
        pytest.param(
            "status.phase!=Running",
            "status.phase!=Running",
            {"status.phase": "Pending"},
            True,
            id="not-equals",
        ),
        pytest.param("spec.nodeName=,a=b", "a=b,spec.nodeName=", {"a": "b"}, True, id="empty-value-sorted"),
        pytest.param(",a=b,", "a=b", {"a": "b"}, True, id="empty-terms-skipped"),
        pytest.param(r"a=x\,y\=z\\", r"a=x\,y\=z\\", {"a": "x,y=z\\"}, True, id="escapes"),
        pytest.param("missing=", "missing=", {}, True, id="absent-is-empty"),
    ],
)
def test_parse_field_selector(text: str, canonical: str, values: dict[str, str], want: bool) -> None:
    sel = parse_field_selector(text)
    assert str(sel) == canonical
    assert sel.matches(values) is want


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("a", "invalid selector: 'a'; can't understand 'a'", id="no-operator"),
        pytest.param("a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'", id="second-term"),
        pytest.param(r"a=b\x", r"invalid field selector: invalid escape sequence: \x", id="bad-escape"),
        pytest.param("a=b\\", "invalid field selector: invalid escape sequence: \\", id="trailing-backslash"),
        pytest.param(
            "a=b=c", "invalid field selector: unescaped character in value: 61", id="unescaped-equals"
        ),
    ],
)
def test_parse_field_selector_errors(text: str, message: str) -> None:
    with pytest.raises(StatusError) as exc:
        parse_field_selector(text)
    assert (exc.value.code, exc.value.message) == (400, message)


def resource(group: str, version: str, kind: str) -> Resource:
    return next(r for r in RESOURCES if (r.group, r.version, r.kind) == (group, version, kind))


POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {"nodeName": "node-1", "hostNetwork": True, "restartPolicy": "Always"},
    "status": {"phase": "Running", "podIP": "10.42.0.5", "podIPs": [{"ip": "10.42.0.5"}, {"ip": "fd00::5"}]},
}
EVENT = {
    "apiVersion": "v1",
    "kind": "Event",
    "metadata": {"name": "e", "namespace": "default"},
    "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default", "uid": "u1"},
    "source": {"component": "kubelet", "host": "node-1"},
    "reportingComponent": "kubelet",
    "type": "Normal",
    "reason": "Pulled",
}


@pytest.mark.parametrize(
    ("res", "obj", "want"),
    [
        pytest.param(
            resource("", "v1", "Pod"),
            POD,
            {
                "metadata.name": "web",
                "metadata.namespace": "default",
                "spec.nodeName": "node-1",
                "spec.restartPolicy": "Always",
                "spec.schedulerName": "",
                "spec.serviceAccountName": "",
                "spec.hostNetwork": "true",
                "status.phase": "Running",
                "status.podIP": "10.42.0.5",
                "status.podIPs": "10.42.0.5,fd00::5",
                "status.nominatedNodeName": "",
            },
            id="pod",
        ),
        pytest.param(
            resource("", "v1", "Node"),
            {"metadata": {"name": "n1"}, "spec": {}},
            {"metadata.name": "n1", "metadata.namespace": "", "spec.unschedulable": ""},
            id="node",
        ),
        pytest.param(
            resource("batch", "v1", "Job"),
            {"metadata": {"name": "j"}, "status": {"succeeded": 2}},
            {"metadata.name": "j", "metadata.namespace": "", "status.successful": "2"},
            id="job-alias",
        ),
        pytest.param(
            resource("apps", "v1", "ReplicaSet"),
            {"metadata": {"name": "r"}, "status": {"replicas": 0}},
            {"metadata.name": "r", "metadata.namespace": "", "status.replicas": "0"},
            id="int-zero",
        ),
    ],
)
def test_field_values(res: Resource, obj: dict[str, Any], want: dict[str, str]) -> None:
    assert field_values(res, obj) == want


@pytest.mark.parametrize(
    ("res", "text", "want"),
    [
        pytest.param(
            resource("", "v1", "Event"),
            "involvedObject.name=web,involvedObject.namespace=default,involvedObject.kind=Pod,"
            "involvedObject.uid=u1",
            True,
            id="describe-pod-events",
        ),
        pytest.param(
            resource("", "v1", "Event"),
            "source=kubelet,type=Normal,reason=Pulled",
            True,
            id="event-source-alias",
        ),
        pytest.param(resource("", "v1", "Event"), "involvedObject.kind=Deployment", False, id="event-miss"),
        pytest.param(
            resource("events.k8s.io", "v1", "Event"),
            "regarding.name=web,reportingController=kubelet",
            True,
            id="events-k8s-io-on-stored-core-event",
        ),
        pytest.param(
            resource("", "v1", "Pod"), "spec.nodeName=node-1,status.phase!=Succeeded", True, id="pod"
        ),
        pytest.param(resource("", "v1", "Pod"), "metadata.namespace=kube-system", False, id="pod-namespace"),
    ],
)
def test_matches_fields(res: Resource, text: str, want: bool) -> None:
    sel = parse_field_selector(text)
    validate_field_selector(res, sel)
    obj = POD if res.kind == "Pod" else EVENT
    assert matches_fields(res, sel, obj) is want


def test_unsupported_field_label() -> None:
    sel = parse_field_selector("metadata.name=x,zzz=1,foo=bar")
    with pytest.raises(StatusError) as exc:
        validate_field_selector(resource("", "v1", "ConfigMap"), sel)
    assert (exc.value.code, exc.value.message) == (400, "field label not supported: foo")
