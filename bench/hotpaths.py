#!/usr/bin/env python3
"""Micro-benchmark of the API server's per-write CPU hot paths (no server, no I/O).

Measures, per call: managedFields tracking (``patch.track_update``) for creates and one-field updates,
server-side apply (``patch.apply``), strict field validation (``duplicate_fields``, ``unknown_fields``) and the
Deployment strategy (default, validate).  Each case is compared with a floor measured in the same run on the same
object: ``orjson.loads(orjson.dumps(obj))`` (a JSON round trip, the cheapest way to copy an object).

Prints a table (median and p99 microseconds per call, ratio of the median to the floor's median) and writes
``bench/results/hotpaths.json``.

    .venv/bin/python bench/hotpaths.py [--quick] [--only SUBSTRING]
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from kybernetes.api import fieldvalidation, patch, schema
from kybernetes.api.strategies import strategy_for

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

Obj = dict[str, Any]

META = {"name": "web", "namespace": "default", "uid": "0d3f1c84-9b7e-4c55-a3c2-6a1f2b9e7d11",
        "creationTimestamp": "2025-01-01T00:00:00Z", "labels": {"app": "web", "tier": "frontend"},
        "annotations": {"example.com/owner": "team-a"}}


def configmap() -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {**META, "name": "cm"},
            "data": {"a": "1", "b": "two", "config.yaml": "key: value\nother: 2\n"}}


def _container(name: str, image: str, port: int) -> Obj:
    return {"name": name, "image": image, "ports": [{"containerPort": port, "protocol": "TCP", "name": "http"}],
            "env": [{"name": "MODE", "value": "prod"}, {"name": "LEVEL", "value": "info"}],
            "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "100m"}},
            "volumeMounts": [{"name": "data", "mountPath": "/data"}]}


def pod_spec(containers: int) -> Obj:
    return {"containers": [_container(f"c{i}", f"nginx:1.{i}", 8080 + i) for i in range(containers)],
            "volumes": [{"name": "data", "emptyDir": {}}]}


def deployment() -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": dict(META),
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec(1)}}}


def pod() -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {**META, "name": "pod"}, "spec": pod_spec(3)}


def service() -> Obj:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {**META, "name": "svc"},
            "spec": {"selector": {"app": "web"}, "clusterIP": "10.43.0.20", "clusterIPs": ["10.43.0.20"],
                     "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                               {"name": "https", "port": 443, "targetPort": 8443, "protocol": "TCP"}]}}


def custom() -> Obj:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {**META, "name": "w"},
            "spec": {"size": 3, "items": [{"name": "a"}, {"name": "b"}], "nested": {"x": {"y": "z"}}}}


def defaulted(group: str, obj: Obj) -> Obj:
    """``obj`` after its strategy's prepare_for_create and default (what the store hands to track_update)."""
    out = copy.deepcopy(obj)
    strategy = strategy_for(group, out["kind"])
    strategy.prepare_for_create(out)
    strategy.default(out)
    return out


OBJECTS: dict[str, tuple[str, Obj]] = {
    "ConfigMap": ("", configmap()),
    "Deployment": ("apps", deployment()),
    "Pod": ("", pod()),
    "Service": ("", service()),
    "CustomResource": ("example.com", custom()),
}


def type_def(group: str, obj: Obj) -> schema.TypeDef | None:
    if group == "example.com":
        return None
    version = obj["apiVersion"].rpartition("/")[2]
    return schema.definition_for_gvk(group, version, obj["kind"])


def track_create(group: str, obj: Obj) -> Callable[[], Any]:
    td = type_def(group, obj)
    new = defaulted(group, obj) if td is not None else obj
    track = patch.track_update
    return lambda: track(None, new, "kubectl-create", "Update", td, ignored_fields=(("status",),))


def _one_field_change(obj: Obj) -> Obj:
    new = copy.deepcopy(obj)
    if "spec" in new and "replicas" in new["spec"]:
        new["spec"]["replicas"] += 1
    elif "data" in new:
        new["data"]["a"] = "changed"
    else:
        new["metadata"]["labels"]["tier"] = "backend"
    return new


def track_one_field_update(group: str, obj: Obj) -> Callable[[], Any]:
    td = type_def(group, obj)
    base = defaulted(group, obj) if td is not None else obj
    old = patch.track_update(None, base, "kubectl-create", "Update", td, ignored_fields=(("status",),))
    new = _one_field_change(old)
    track = patch.track_update
    return lambda: track(old, new, "kubectl-edit", "Update", td, ignored_fields=(("status",),))


def track_noop_update(group: str, obj: Obj) -> Callable[[], Any]:
    td = type_def(group, obj)
    base = defaulted(group, obj) if td is not None else obj
    old = patch.track_update(None, base, "kubectl-create", "Update", td, ignored_fields=(("status",),))
    new = copy.deepcopy(old)
    track = patch.track_update
    return lambda: track(old, new, "kubectl-create", "Update", td, ignored_fields=(("status",),))


def apply_create(group: str, obj: Obj) -> Callable[[], Any]:
    td = type_def(group, obj)
    config = copy.deepcopy(obj)
    for key in ("uid", "creationTimestamp"):
        config["metadata"].pop(key)
    apply = patch.apply
    return lambda: apply(None, config, "kubectl", False, td, ignored_fields=(("status",),))


def apply_one_field(group: str, obj: Obj) -> Callable[[], Any]:
    td = type_def(group, obj)
    config = copy.deepcopy(obj)
    for key in ("uid", "creationTimestamp"):
        config["metadata"].pop(key)
    live = patch.apply(None, config, "kubectl", False, td, ignored_fields=(("status",),))
    changed = _one_field_change(config)
    apply = patch.apply
    return lambda: apply(live, changed, "kubectl", False, td, ignored_fields=(("status",),))


def duplicates(obj: Obj) -> Callable[[], Any]:
    body = json.dumps(obj).encode()
    return lambda: fieldvalidation.duplicate_fields(body, "application/json")


def unknown(group: str, obj: Obj) -> Callable[[], Any]:
    td = type_def(group, obj)
    assert td is not None
    return lambda: fieldvalidation.unknown_fields(obj, td.name)


def strategy_default(group: str, obj: Obj) -> Callable[[], Any]:
    strategy = strategy_for(group, obj["kind"])

    def run() -> None:
        strategy.default(orjson.loads(orjson.dumps(obj)))

    return run


def strategy_validate(group: str, obj: Obj) -> Callable[[], Any]:
    strategy = strategy_for(group, obj["kind"])
    full = defaulted(group, obj)
    return lambda: strategy.validate(full)


def floor(obj: Obj) -> Callable[[], Any]:
    return lambda: orjson.loads(orjson.dumps(obj))


def cases() -> list[tuple[str, str, Callable[[], Any], Callable[[], Any]]]:
    """(name, object kind, case, floor of the same object)."""
    out: list[tuple[str, str, Callable[[], Any], Callable[[], Any]]] = []
    for kind, (group, obj) in OBJECTS.items():
        out.append(("track_update create", kind, track_create(group, obj), floor(obj)))
    for kind, (group, obj) in OBJECTS.items():
        out.append(("track_update one-field update", kind, track_one_field_update(group, obj), floor(obj)))
    for kind in ("ConfigMap", "Deployment"):
        group, obj = OBJECTS[kind]
        out.append(("track_update no-op update", kind, track_noop_update(group, obj), floor(obj)))
    for kind, (group, obj) in OBJECTS.items():
        out.append(("apply create", kind, apply_create(group, obj), floor(obj)))
    for kind in ("ConfigMap", "Deployment", "Pod"):
        group, obj = OBJECTS[kind]
        out.append(("apply one-field update", kind, apply_one_field(group, obj), floor(obj)))
    for kind in ("ConfigMap", "Deployment", "Pod"):
        group, obj = OBJECTS[kind]
        out.append(("duplicate_fields", kind, duplicates(obj), floor(obj)))
    for kind in ("ConfigMap", "Deployment", "Pod"):
        group, obj = OBJECTS[kind]
        out.append(("unknown_fields", kind, unknown(group, obj), floor(obj)))
    for kind in ("Deployment", "Pod", "Service"):
        group, obj = OBJECTS[kind]
        out.append(("strategy default (+floor copy)", kind, strategy_default(group, obj), floor(obj)))
        out.append(("strategy validate", kind, strategy_validate(group, obj), floor(obj)))
    return out


def measure(fn: Callable[[], Any], seconds: float) -> list[float]:
    """Per-call durations in microseconds, timed one call at a time for about ``seconds``."""
    for _ in range(20):
        fn()
    samples: list[float] = []
    clock = time.perf_counter_ns
    deadline = time.perf_counter() + seconds
    while True:
        for _ in range(50):
            start = clock()
            fn()
            samples.append((clock() - start) / 1000)
        if time.perf_counter() >= deadline:
            return samples


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="0.2 s per case instead of 1 s")
    parser.add_argument("--only", default="", help="run only cases whose name contains this text")
    args = parser.parse_args()
    seconds = 0.2 if args.quick else 1.0
    rows: list[dict[str, Any]] = []
    floors: dict[str, float] = {}
    print(f"{'case':<34}{'object':<16}{'median us':>11}{'p99 us':>11}{'floor us':>10}{'ratio':>8}")
    for name, kind, fn, floor_fn in cases():
        if args.only and args.only not in name:
            continue
        if kind not in floors:
            floors[kind] = pct(measure(floor_fn, seconds / 2), 50)
        samples = measure(fn, seconds)
        median, p99 = pct(samples, 50), pct(samples, 99)
        ratio = median / floors[kind]
        rows.append({"case": name, "object": kind, "median_us": median, "p99_us": p99, "calls": len(samples),
                     "floor": "orjson.loads(orjson.dumps(obj))", "floor_median_us": floors[kind],
                     "ratio_to_floor": ratio})
        print(f"{name:<34}{kind:<16}{median:>11.1f}{p99:>11.1f}{floors[kind]:>10.2f}{ratio:>8.1f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "hotpaths.json").write_text(json.dumps({"seconds_per_case": seconds, "results": rows}, indent=1)
                                           + "\n")


if __name__ == "__main__":
    main()
