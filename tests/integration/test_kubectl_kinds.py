"""Every built-in kind through the real kubectl 1.27, 1.32 and 1.33: get (plain, wide, yaml/json, name, labels,
all namespaces, ``get all``), describe, events, explain, delete, dry-run and invalid objects.

Each kubectl version seeds a namespace of its own on the module's shared server with ONE multi-document apply
(plus a Node, a PersistentVolume and a StorageClass named after the version), then the tests read it back.
Expected cells are what upstream's printers (``pkg/printers/internalversion``) print for these objects with no
controllers running: nothing is scheduled, no status is filled in except where the test patches it.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness import ApiServer, Cluster

VERSIONS = ("1.27", "1.32", "1.33")
AGE = re.compile(r"\d+s|\d+m\d*s?")
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
Expected = dict[str, "str | re.Pattern[str]"]


@dataclass
class Seeded:
    """One kubectl version's view: its namespace, cluster-object suffix and a ``kubectl`` runner."""

    version: str
    ns: str
    suffix: str
    cluster: Cluster

    def __call__(self, *args: str, check: bool = True, input: str | None = None,
                 namespaced: bool = True) -> subprocess.CompletedProcess[str]:
        extra = ("-n", self.ns) if namespaced else ()
        return self.cluster.kubectl(*args, *extra, version=self.version, check=check, input=input)


@pytest.fixture(scope="module", params=VERSIONS)
def seeded(request: pytest.FixtureRequest, apiserver_process: ApiServer,
           tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    version: str = request.param
    tag = version.replace(".", "")
    apiserver_process.ensure_running()
    cache = tmp_path_factory.mktemp(f"kubectl-{tag}") / "cache"
    k = Seeded(version, f"kinds{tag}", tag, Cluster(apiserver_process, Path(cache)))
    assert k("create", "namespace", k.ns, namespaced=False).stdout.strip() == f"namespace/{k.ns} created"
    out = k("apply", "-f", "-", input=namespaced_manifest(k.ns, VERSIONS.index(version))).stdout
    assert len(out.strip().splitlines()) == 24, out
    assert all(line.endswith(" created") for line in out.strip().splitlines()), out
    out = k("apply", "-f", "-", input=cluster_manifest(k.suffix, k.ns), namespaced=False).stdout
    assert out.split() == [f"node/node-{tag}", "created", f"persistentvolume/pv-{tag}", "created",
                           f"storageclass.storage.k8s.io/sc-{tag}", "created"], out
    status = {"status": {"hard": {"pods": "10", "requests.cpu": "4", "limits.memory": "8Gi"},
                         "used": {"pods": "1", "requests.cpu": "500m", "limits.memory": "0"}}}
    k("patch", "resourcequota", "quota", "--subresource=status", "--type=merge", "-p", json.dumps(status))
    return k


# ------------------------------------------------------------------------------------------------ parsing


def table(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """kubectl's tab-aligned output as (headers, rows keyed by header); cells are sliced at header offsets,
    so empty cells come back as ``""``."""
    lines = [line for line in text.splitlines() if line.strip()]
    header = lines[0]
    starts = [m.start() for m in re.finditer(r"(?:(?<=\s\s)|^)\S", header)]
    names = [header[s:e].strip() for s, e in zip(starts, [*starts[1:], None], strict=True)]
    rows = []
    for line in lines[1:]:
        cells = [line[s:e].strip() for s, e in zip(starts, [*starts[1:], None], strict=True)]
        rows.append(dict(zip(names, cells, strict=True)))
    return names, rows


def assert_row(row: dict[str, str], want: Expected) -> None:
    for column, expected in want.items():
        got = row[column]
        if isinstance(expected, re.Pattern):
            assert expected.fullmatch(got), f"{column}: {got!r} !~ {expected.pattern}"
        else:
            assert got == expected, f"{column}: {got!r} != {expected!r}"


# ------------------------------------------------------------------------------------------------ tables


@dataclass(frozen=True)
class Case:
    """``get <ref>``: kubectl's name for the kind (the row prefix when several kinds print at once), the default
    header, the extra wide columns, and the expected cells (NAME without its prefix)."""

    ref: str
    printed: str
    header: tuple[str, ...]
    wide: tuple[str, ...]
    cells: Callable[[Seeded], Expected]


CASES = [
    Case("pod/web-pod", "pod", ("NAME", "READY", "STATUS", "RESTARTS", "AGE"),
         ("IP", "NODE", "NOMINATED NODE", "READINESS GATES"),
         lambda k: {"NAME": "web-pod", "READY": "0/2", "STATUS": "Pending", "RESTARTS": "0", "AGE": AGE,
                    "IP": "<none>", "NODE": "<none>", "NOMINATED NODE": "<none>", "READINESS GATES": "0/1"}),
    Case("service/web-svc", "service", ("NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"),
         ("SELECTOR",),
         lambda k: {"NAME": "web-svc", "TYPE": "ClusterIP", "CLUSTER-IP": re.compile(r"10\.43\.\d+\.\d+"),
                    "EXTERNAL-IP": "<none>", "PORT(S)": "80/TCP", "AGE": AGE, "SELECTOR": "app=web"}),
    Case("svc/web-np", "service", ("NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"), ("SELECTOR",),
         lambda k: {"NAME": "web-np", "TYPE": "NodePort", "EXTERNAL-IP": "<none>",
                    "PORT(S)": f"443:{30400 + VERSIONS.index(k.version)}/TCP"}),
    Case("endpoints/web-svc", "endpoints", ("NAME", "ENDPOINTS", "AGE"), (),
         lambda k: {"NAME": "web-svc", "ENDPOINTS": "10.42.0.5:8080,10.42.0.6:8080", "AGE": AGE}),
    Case("cm/app-config", "configmap", ("NAME", "DATA", "AGE"), (),
         lambda k: {"NAME": "app-config", "DATA": "3", "AGE": AGE}),
    Case("secret/app-secret", "secret", ("NAME", "TYPE", "DATA", "AGE"), (),
         lambda k: {"NAME": "app-secret", "TYPE": "Opaque", "DATA": "2", "AGE": AGE}),
    Case("sa/builder", "serviceaccount", ("NAME", "SECRETS", "AGE"), (),
         lambda k: {"NAME": "builder", "SECRETS": "0", "AGE": AGE}),
    Case("pvc/data", "persistentvolumeclaim", ("NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES",
                                               "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"), ("VOLUMEMODE",),
         lambda k: {"NAME": "data", "STATUS": "Pending", "VOLUME": "", "CAPACITY": "", "ACCESS MODES": "",
                    "STORAGECLASS": "fast", "VOLUMEATTRIBUTESCLASS": "<unset>", "AGE": AGE,
                    "VOLUMEMODE": "Filesystem"}),
    Case("rc/legacy-rc", "replicationcontroller", ("NAME", "DESIRED", "CURRENT", "READY", "AGE"),
         ("CONTAINERS", "IMAGES", "SELECTOR"),
         lambda k: {"NAME": "legacy-rc", "DESIRED": "2", "CURRENT": "0", "READY": "0", "CONTAINERS": "app",
                    "IMAGES": "busybox", "SELECTOR": "app=legacy"}),
    Case("limits/limits", "limitrange", ("NAME", "CREATED AT"), (),
         lambda k: {"NAME": "limits", "CREATED AT": RFC3339}),
    Case("quota/quota", "resourcequota", ("NAME", "REQUEST", "LIMIT", "AGE"), (),
         lambda k: {"NAME": "quota", "REQUEST": "pods: 1/10, requests.cpu: 500m/4", "LIMIT": "limits.memory: 0/8Gi",
                    "AGE": AGE}),
    Case("deploy/web-deploy", "deployment.apps", ("NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"),
         ("CONTAINERS", "IMAGES", "SELECTOR"),
         lambda k: {"NAME": "web-deploy", "READY": "0/3", "UP-TO-DATE": "0", "AVAILABLE": "0",
                    "CONTAINERS": "nginx", "IMAGES": "nginx:1.27", "SELECTOR": "app=web"}),
    Case("rs/web-rs", "replicaset.apps", ("NAME", "DESIRED", "CURRENT", "READY", "AGE"),
         ("CONTAINERS", "IMAGES", "SELECTOR"),
         lambda k: {"NAME": "web-rs", "DESIRED": "2", "CURRENT": "0", "READY": "0", "CONTAINERS": "nginx",
                    "IMAGES": "nginx", "SELECTOR": "app=rs"}),
    Case("ds/agent", "daemonset.apps",
         ("NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"),
         ("CONTAINERS", "IMAGES", "SELECTOR"),
         lambda k: {"NAME": "agent", "DESIRED": "0", "CURRENT": "0", "READY": "0", "UP-TO-DATE": "0",
                    "AVAILABLE": "0", "NODE SELECTOR": "kubernetes.io/os=linux", "CONTAINERS": "agent",
                    "IMAGES": "busybox", "SELECTOR": "app=agent"}),
    Case("sts/db", "statefulset.apps", ("NAME", "READY", "AGE"), ("CONTAINERS", "IMAGES"),
         lambda k: {"NAME": "db", "READY": "0/2", "CONTAINERS": "postgres", "IMAGES": "postgres:16"}),
    Case("controllerrevisions/db-7f9c", "controllerrevision.apps", ("NAME", "CONTROLLER", "REVISION", "AGE"), (),
         lambda k: {"NAME": "db-7f9c", "CONTROLLER": "statefulset.apps/db", "REVISION": "1", "AGE": AGE}),
    Case("job/pi", "job.batch", ("NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"),
         ("CONTAINERS", "IMAGES", "SELECTOR"),
         lambda k: {"NAME": "pi", "STATUS": "Running", "COMPLETIONS": "0/1", "DURATION": "", "AGE": AGE,
                    "CONTAINERS": "pi", "IMAGES": "perl:5.34",
                    "SELECTOR": re.compile(f"batch.kubernetes.io/controller-uid={UUID}")}),
    Case("cj/hello", "cronjob.batch", ("NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"),
         ("CONTAINERS", "IMAGES", "SELECTOR"),
         lambda k: {"NAME": "hello", "SCHEDULE": "*/5 * * * *", "TIMEZONE": "<none>", "SUSPEND": "False",
                    "ACTIVE": "0", "LAST SCHEDULE": "<none>", "CONTAINERS": "hello", "IMAGES": "busybox",
                    "SELECTOR": "<none>"}),
    Case("hpa/web-hpa1", "horizontalpodautoscaler.autoscaling",
         ("NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"), (),
         lambda k: {"NAME": "web-hpa1", "REFERENCE": "Deployment/web-deploy", "TARGETS": "cpu: <unknown>/70%",
                    "MINPODS": "1", "MAXPODS": "5", "REPLICAS": "0"}),
    Case("horizontalpodautoscalers.v1.autoscaling/web-hpa2", "horizontalpodautoscaler.autoscaling",
         ("NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"), (),
         lambda k: {"NAME": "web-hpa2", "TARGETS": "memory: <unknown>/500Mi", "MINPODS": "2", "MAXPODS": "10",
                    "REPLICAS": "0"}),
    Case("leases/my-lock", "lease.coordination.k8s.io", ("NAME", "HOLDER", "AGE"), (),
         lambda k: {"NAME": "my-lock", "HOLDER": "node-a", "AGE": AGE}),
    Case("endpointslices/web-svc-abc", "endpointslice.discovery.k8s.io",
         ("NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"), (),
         lambda k: {"NAME": "web-svc-abc", "ADDRESSTYPE": "IPv4", "PORTS": "8080",
                    "ENDPOINTS": "10.42.0.5,10.42.0.6"}),
    Case("node/node-@", "node", ("NAME", "STATUS", "ROLES", "AGE", "VERSION"),
         ("INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"),
         lambda k: {"NAME": f"node-{k.suffix}", "STATUS": "Ready,SchedulingDisabled", "ROLES": "control-plane",
                    "VERSION": "v1.32.0", "INTERNAL-IP": "192.168.7.10", "EXTERNAL-IP": "<none>",
                    "OS-IMAGE": "Debian GNU/Linux 12 (bookworm)", "KERNEL-VERSION": "6.1.0-18-amd64",
                    "CONTAINER-RUNTIME": "containerd://1.7.24"}),
    Case("pv/pv-@", "persistentvolume", ("NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS", "CLAIM",
                                         "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON", "AGE"), ("VOLUMEMODE",),
         lambda k: {"NAME": f"pv-{k.suffix}", "CAPACITY": "5Gi", "ACCESS MODES": "RWO,ROX",
                    "RECLAIM POLICY": "Retain", "STATUS": "Pending", "CLAIM": f"{k.ns}/data", "STORAGECLASS": "fast",
                    "VOLUMEATTRIBUTESCLASS": "<unset>", "REASON": "", "VOLUMEMODE": "Filesystem"}),
    Case("sc/sc-@", "storageclass.storage.k8s.io",
         ("NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"), (),
         lambda k: {"NAME": f"sc-{k.suffix} (default)", "PROVISIONER": "kybernetes.io/local-path",
                    "RECLAIMPOLICY": "Retain", "VOLUMEBINDINGMODE": "WaitForFirstConsumer",
                    "ALLOWVOLUMEEXPANSION": "true"}),
    Case("ns/@NS", "namespace", ("NAME", "STATUS", "AGE"), (), lambda k: {"NAME": k.ns, "STATUS": "Active"}),
    Case("cs/etcd-0", "componentstatus", ("NAME", "STATUS", "MESSAGE", "ERROR"), (),
         lambda k: {"NAME": "etcd-0", "STATUS": "Healthy", "MESSAGE": "ok", "ERROR": ""}),
]


def _ref(case: Case, k: Seeded) -> str:
    return case.ref.replace("@NS", k.ns).replace("-@", f"-{k.suffix}")


@pytest.fixture(scope="module")
def printed(seeded: Seeded) -> dict[bool, dict[str, tuple[list[str], dict[str, str]]]]:
    """``get`` of every case at once, plain (False) and ``-o wide`` (True): ``{wide: {printed/name: (header,
    row)}}``.  kubectl prints one table per kind, each row named ``<printed>/<name>``."""
    refs = [_ref(c, seeded) for c in CASES]
    out: dict[bool, dict[str, tuple[list[str], dict[str, str]]]] = {}
    for wide in (False, True):
        text = seeded("get", *refs, *(("-o", "wide") if wide else ())).stdout
        found: dict[str, tuple[list[str], dict[str, str]]] = {}
        for block in text.strip().split("\n\n"):
            names, rows = table(block)
            for row in rows:
                found[row["NAME"]] = (names, row)
        out[wide] = found
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.printed + ":" + c.ref.split("/")[1] for c in CASES])
def test_get_columns(seeded: Seeded, printed: dict[bool, dict[str, tuple[list[str], dict[str, str]]]],
                     case: Case) -> None:
    want = case.cells(seeded)
    key = f"{case.printed}/{want['NAME']}"
    want = {**want, "NAME": key}
    names, row = printed[False][key]
    assert tuple(names) == case.header
    assert_row(row, {c: v for c, v in want.items() if c in case.header})
    names, row = printed[True][key]
    assert tuple(names) == case.header + case.wide
    assert_row(row, want)

    # a single-kind get prints unprefixed names: the one-row Table of a single GET
    if case.printed in ("pod", "deployment.apps", "node"):
        names, rows = table(seeded("get", _ref(case, seeded)).stdout)
        assert tuple(names) == case.header and rows[0]["NAME"] == key.split("/", 1)[1]


def _event_cells(reason: str, obj: str, subobject: str, source: str, message: str, count: str,
                 name: str) -> Expected:
    return {"TYPE": "Normal", "REASON": reason, "OBJECT": obj, "SUBOBJECT": subobject, "SOURCE": source,
            "MESSAGE": message, "COUNT": count, "NAME": name, "LAST SEEN": re.compile(r"\dy\d*d?"),
            "FIRST SEEN": re.compile(r"\dy\d*d?")}


EVENT_HEADER = ("LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE")
EVENT_WIDE = ("LAST SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE", "MESSAGE", "FIRST SEEN", "COUNT",
              "NAME")
CORE_EVENT = _event_cells("Started", "pod/web-pod", "spec.containers{nginx}", "kubelet, node-1",
                          "Started container nginx", "3", "web-pod.started")
NEW_EVENT = _event_cells("ScalingReplicaSet", "deployment/web-deploy", "",
                         "deployment-controller, kyb-controller-manager", "Scaled up replica set web-deploy-abc to 2",
                         "1", "web-deploy.scaled")


@pytest.mark.parametrize(
    ("args", "want"),
    [
        pytest.param(("events", "--field-selector", "involvedObject.name=web-pod"), CORE_EVENT, id="core-selector"),
        pytest.param(("events", "--field-selector", "involvedObject.kind=Deployment,reason=ScalingReplicaSet"),
                     NEW_EVENT, id="core-view-of-events.k8s.io"),
        pytest.param(("events.v1.events.k8s.io", "web-deploy.scaled"), NEW_EVENT, id="events.k8s.io"),
        pytest.param(("events.v1.events.k8s.io", "--field-selector", "regarding.name=web-pod"), CORE_EVENT,
                     id="events.k8s.io-selector"),
    ],
)
def test_get_events(seeded: Seeded, args: tuple[str, ...], want: Expected) -> None:
    names, rows = table(seeded("get", *args).stdout)
    assert tuple(names) == EVENT_HEADER and len(rows) == 1
    assert_row(rows[0], {c: v for c, v in want.items() if c in EVENT_HEADER})
    names, rows = table(seeded("get", *args, "-o", "wide").stdout)
    assert tuple(names) == EVENT_WIDE and len(rows) == 1
    assert_row(rows[0], want)


def test_get_events_selector_matches_nothing(seeded: Seeded) -> None:
    out = seeded("get", "events", "--field-selector", "involvedObject.name=nope")
    assert out.stdout == "" and out.stderr.strip() == f"No resources found in {seeded.ns} namespace."


# ------------------------------------------------------------------------------------------------ objects


def _get_json(k: Seeded, *refs: str) -> dict[str, dict[str, Any]]:
    """``get <refs> -o json`` keyed by ``<kind>/<name>``."""
    doc = json.loads(k("get", *refs, "-o", "json").stdout)
    items = doc["items"] if doc.get("kind") == "List" else [doc]
    return {f"{o['kind']}/{o['metadata']['name']}": o for o in items}


def test_json_round_trip_and_defaults(seeded: Seeded) -> None:
    refs = [_ref(c, seeded) for c in CASES if c.printed not in ("componentstatus", "namespace")]
    got = _get_json(seeded, *refs, "ev/web-pod.started", "events.v1.events.k8s.io/web-deploy.scaled")
    for key, obj in got.items():
        meta = obj["metadata"]
        assert re.fullmatch(UUID, meta["uid"]) and RFC3339.fullmatch(meta["creationTimestamp"]), key
        assert int(meta["resourceVersion"]) > 0, key
        if not key.startswith(("Node/", "PersistentVolume/", "StorageClass/")):
            assert meta["namespace"] == seeded.ns, key
    pod = got["Pod/web-pod"]["spec"]
    nginx, sidecar = pod["containers"]
    assert nginx["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert (nginx["imagePullPolicy"], sidecar["imagePullPolicy"]) == ("IfNotPresent", "Always")
    assert sidecar["command"] == ["sleep", "3600"]
    assert nginx["terminationMessagePath"] == "/dev/termination-log" and nginx["terminationMessagePolicy"] == "File"
    assert (pod["restartPolicy"], pod["dnsPolicy"], pod["schedulerName"]) == ("Always", "ClusterFirst",
                                                                               "default-scheduler")
    assert pod["terminationGracePeriodSeconds"] == 30 and pod["enableServiceLinks"] is True
    assert pod["readinessGates"] == [{"conditionType": "example.com/ready"}]
    assert got["Pod/web-pod"]["status"]["phase"] == "Pending"

    svc = got["Service/web-svc"]["spec"]
    assert svc["ports"] == [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]
    assert (svc["type"], svc["sessionAffinity"], svc["internalTrafficPolicy"]) == ("ClusterIP", "None", "Cluster")
    assert svc["ipFamilies"] == ["IPv4"] and svc["ipFamilyPolicy"] == "SingleStack"
    assert svc["clusterIPs"] == [svc["clusterIP"]]
    np = got["Service/web-np"]["spec"]
    assert np["externalTrafficPolicy"] == "Cluster" and np["ports"][0]["targetPort"] == 443
    assert got["Endpoints/web-svc"]["subsets"][0]["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]

    cm = got["ConfigMap/app-config"]
    assert cm["data"] == {"mode": "production", "level": "debug"} and cm["binaryData"] == {"blob": "AAEC"}
    secret = got["Secret/app-secret"]
    assert secret["data"] == {"user": "YWRtaW4=", "password": "czNjcjN0"} and "stringData" not in secret
    assert secret["type"] == "Opaque"

    pvc = got["PersistentVolumeClaim/data"]
    assert pvc["spec"]["volumeMode"] == "Filesystem" and pvc["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert pvc["status"]["phase"] == "Pending"
    limits = got["LimitRange/limits"]["spec"]["limits"][0]
    assert limits["defaultRequest"] == {"cpu": "100m", "memory": "256Mi"}  # memory request from its default
    assert got["ResourceQuota/quota"]["spec"]["hard"] == {"pods": "10", "requests.cpu": "4", "limits.memory": "8Gi"}

    deploy = got["Deployment/web-deploy"]
    assert deploy["metadata"]["generation"] == 1 and deploy["spec"]["replicas"] == 3
    assert deploy["spec"]["strategy"] == {"type": "RollingUpdate",
                                          "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert deploy["spec"]["revisionHistoryLimit"] == 10 and deploy["spec"]["progressDeadlineSeconds"] == 600
    ds = got["DaemonSet/agent"]["spec"]
    assert ds["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    assert ds["revisionHistoryLimit"] == 10
    sts = got["StatefulSet/db"]["spec"]
    assert sts["podManagementPolicy"] == "OrderedReady" and sts["revisionHistoryLimit"] == 10
    assert sts["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert sts["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    rev = got["ControllerRevision/db-7f9c"]
    assert rev["revision"] == 1 and rev["data"] == {"spec": {"template": {"metadata": {"labels": {"app": "db"}}}}}
    job = got["Job/pi"]["spec"]
    assert (job["completions"], job["parallelism"], job["backoffLimit"]) == (1, 1, 4)
    assert job["completionMode"] == "NonIndexed" and job["suspend"] is False
    uid = got["Job/pi"]["metadata"]["uid"]
    assert job["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    assert job["template"]["metadata"]["labels"] == {"batch.kubernetes.io/controller-uid": uid,
                                                     "batch.kubernetes.io/job-name": "pi",
                                                     "controller-uid": uid, "job-name": "pi"}
    cj = got["CronJob/hello"]["spec"]
    assert (cj["concurrencyPolicy"], cj["suspend"]) == ("Allow", False)
    assert (cj["successfulJobsHistoryLimit"], cj["failedJobsHistoryLimit"]) == (3, 1)
    hpa2 = got["HorizontalPodAutoscaler/web-hpa2"]
    assert hpa2["apiVersion"] == "autoscaling/v1"  # asked for through the v1 resource
    assert got["HorizontalPodAutoscaler/web-hpa1"]["apiVersion"] == "autoscaling/v2"
    assert got["HorizontalPodAutoscaler/web-hpa1"]["spec"]["metrics"] == [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                    "averageUtilization": 70}}}]
    assert got["Lease/my-lock"]["spec"] == {"holderIdentity": "node-a", "leaseDurationSeconds": 15}
    es = got["EndpointSlice/web-svc-abc"]
    assert es["addressType"] == "IPv4" and es["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    node = got[f"Node/node-{seeded.suffix}"]
    assert node["spec"]["unschedulable"] is True and node["status"]["nodeInfo"]["kubeletVersion"] == "v1.32.0"
    pv = got[f"PersistentVolume/pv-{seeded.suffix}"]
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain" and pv["spec"]["volumeMode"] == "Filesystem"
    assert pv["status"]["phase"] == "Pending"
    sc = got[f"StorageClass/sc-{seeded.suffix}"]
    assert (sc["reclaimPolicy"], sc["volumeBindingMode"], sc["allowVolumeExpansion"]) == (
        "Retain", "WaitForFirstConsumer", True)
    ev = got["Event/web-pod.started"]
    assert ev["apiVersion"] == "v1" and ev["count"] == 3 and ev["involvedObject"]["name"] == "web-pod"
    new = got["Event/web-deploy.scaled"]
    assert new["apiVersion"] == "events.k8s.io/v1" and new["note"].startswith("Scaled up")
    assert new["regarding"]["name"] == "web-deploy" and new["reportingController"] == "deployment-controller"


def test_yaml_equals_json(seeded: Seeded) -> None:
    as_yaml = yaml.safe_load(seeded("get", "deploy", "web-deploy", "-o", "yaml").stdout)
    as_json = json.loads(seeded("get", "deploy", "web-deploy", "-o", "json").stdout)
    assert as_yaml == as_json and as_yaml["kind"] == "Deployment"
    listed = yaml.safe_load(seeded("get", "deploy,sts", "-o", "yaml").stdout)
    assert listed["kind"] == "List" and listed["apiVersion"] == "v1"
    assert [(o["kind"], o["metadata"]["name"]) for o in listed["items"]] == [("Deployment", "web-deploy"),
                                                                             ("StatefulSet", "db")]


def test_output_name(seeded: Seeded) -> None:
    out = seeded("get", "pods,svc,deploy,rs,hpa,leases,endpointslices,ev", "-o", "name").stdout.split()
    assert out == ["pod/web-pod", "service/web-np", "service/web-svc", "deployment.apps/web-deploy",
                   "replicaset.apps/web-rs", "horizontalpodautoscaler.autoscaling/web-hpa1",
                   "horizontalpodautoscaler.autoscaling/web-hpa2", "lease.coordination.k8s.io/my-lock",
                   "endpointslice.discovery.k8s.io/web-svc-abc", "event/web-deploy.scaled", "event/web-pod.started"]
    out = seeded("get", "sc", f"sc-{seeded.suffix}", "-o", "name", namespaced=False).stdout.split()
    assert out == [f"storageclass.storage.k8s.io/sc-{seeded.suffix}"]


def test_show_labels(seeded: Seeded) -> None:
    names, rows = table(seeded("get", "pod", "web-pod", "--show-labels").stdout)
    assert names[-1] == "LABELS" and rows[0]["LABELS"] == "app=web,tier=front"
    names, rows = table(seeded("get", "cm,endpointslices", "--show-labels").stdout.split("\n\n")[0])
    assert {r["NAME"]: r["LABELS"] for r in rows}["configmap/app-config"] == "x=y"
    names, rows = table(seeded("get", f"node/node-{seeded.suffix}", "-L", "kubernetes.io/os").stdout)
    assert names[-1] == "OS" and rows[0]["OS"] == "linux"


def test_all_namespaces(seeded: Seeded) -> None:
    names, rows = table(seeded("get", "deploy,cm", "-A", namespaced=False).stdout.split("\n\n")[0])
    assert names == ["NAMESPACE", "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert {"NAMESPACE": seeded.ns, "NAME": "deployment.apps/web-deploy", "READY": "0/3", "UP-TO-DATE": "0",
            "AVAILABLE": "0"}.items() <= next(r for r in rows if r["NAMESPACE"] == seeded.ns).items()
    names, rows = table(seeded("get", "leases", "--all-namespaces", namespaced=False).stdout)
    assert names == ["NAMESPACE", "NAME", "HOLDER", "AGE"]
    assert {"NAMESPACE": seeded.ns, "NAME": "my-lock", "HOLDER": "node-a"}.items() <= next(
        r for r in rows if r["NAMESPACE"] == seeded.ns).items()


# upstream's discovery lists each group's resources by name: core pods, replicationcontrollers, services; …
ALL_SECTIONS = ["pod/web-pod", "replicationcontroller/legacy-rc", "service/web-np", "daemonset.apps/agent",
                "deployment.apps/web-deploy", "replicaset.apps/web-rs", "statefulset.apps/db",
                "horizontalpodautoscaler.autoscaling/web-hpa1", "cronjob.batch/hello", "job.batch/pi"]


def _get_all_sections(k: Seeded) -> list[str]:
    out = k("get", "all").stdout
    return [table(block)[1][0]["NAME"] for block in out.strip().split("\n\n")]


def test_get_all(seeded: Seeded) -> None:
    assert sorted(_get_all_sections(seeded)) == sorted(ALL_SECTIONS)


def test_get_all_in_upstream_order(seeded: Seeded) -> None:
    assert _get_all_sections(seeded) == ALL_SECTIONS


# ------------------------------------------------------------------------------------------------ describe

DESCRIBE = [
    ("pod/web-pod", [r"Name:\s+web-pod", r"Namespace:\s+@NS", r"Status:\s+Pending", r"Labels:\s+app=web",
                     r"\s+tier=front", r"    Image:\s+nginx:1.27", r"    Port:\s+80/TCP",
                     r"QoS Class:\s+BestEffort", r"Events:\s+<none>"]),
    ("svc/web-svc", [r"Type:\s+ClusterIP", r"Selector:\s+app=web", r"Port:\s+http  80/TCP",
                     r"TargetPort:\s+8080/TCP", r"Endpoints:\s+10.42.0.5:8080,10.42.0.6:8080",
                     r"Session Affinity:\s+None"]),
    ("endpoints/web-svc", [r"  Addresses:\s+10.42.0.5,10.42.0.6", r"    http  8080  TCP"]),
    ("cm/app-config", [r"Labels:\s+x=y", r"mode:", r"production", r"blob: 3 bytes"]),
    ("secret/app-secret", [r"Type:\s+Opaque", r"password:\s+6 bytes", r"user:\s+5 bytes"]),
    ("sa/builder", [r"Name:\s+builder", r"Mountable secrets:\s+<none>", r"Tokens:\s+<none>"]),
    ("pvc/data", [r"StorageClass:\s+fast", r"Status:\s+Pending", r"VolumeMode:\s+Filesystem"]),
    ("rc/legacy-rc", [r"Replicas:\s+0 current / 2 desired",
                      r"Pods Status:\s+0 Running / 0 Waiting / 0 Succeeded / 0 Failed"]),
    ("limits/limits", [r"Container\s+cpu\s+-\s+-\s+100m\s+500m\s+-",
                       r"Container\s+memory\s+-\s+-\s+256Mi\s+256Mi\s+-"]),
    ("quota/quota", [r"pods\s+1\s+10", r"requests.cpu\s+500m\s+4", r"limits.memory\s+0\s+8Gi"]),
    ("deploy/web-deploy", [r"Replicas:\s+3 desired \| 0 updated \| 0 total \| 0 available \| 0 unavailable",
                           r"StrategyType:\s+RollingUpdate",
                           r"RollingUpdateStrategy:\s+25% max unavailable, 25% max surge"]),
    ("rs/web-rs", [r"Replicas:\s+0 current / 2 desired", r"Selector:\s+app=rs"]),
    ("ds/agent", [r"Node-Selector:\s+kubernetes.io/os=linux", r"Desired Number of Nodes Scheduled: 0"]),
    ("sts/db", [r"Replicas:\s+2 desired \| 0 total", r"Update Strategy:\s+RollingUpdate", r"  Partition:\s+0"]),
    ("job/pi", [r"Parallelism:\s+1", r"Completions:\s+1", r"Completion Mode:\s+NonIndexed",
                r"Pods Statuses:\s+0 Active.*"]),
    ("cj/hello", [r"Schedule:\s+\*/5 \* \* \* \*", r"Concurrency Policy:\s+Allow", r"Suspend:\s+False",
                  r"Successful Job History Limit:\s+3", r"Failed Job History Limit:\s+1"]),
    ("hpa/web-hpa1", [r"Reference:\s+Deployment/web-deploy",
                      r"  resource cpu on pods  \(as a percentage of request\):\s+<unknown> / 70%",
                      r"Min replicas:\s+1", r"Max replicas:\s+5"]),
    ("hpa/web-hpa2", [r"  resource memory on pods:\s+<unknown> / 500Mi"]),
    ("endpointslices/web-svc-abc", [r"AddressType:\s+IPv4", r"  - Addresses:\s+10.42.0.5"]),
    ("leases/my-lock", [r"  Holder Identity:\s+node-a", r"  Lease Duration Seconds:\s+15"]),
    ("controllerrevisions/db-7f9c", [r"Revision:\s+1"]),
    ("ev/web-pod.started", [r"Count:\s+3", r"Reason:\s+Started"]),
    ("node/node-@", [r"Roles:\s+control-plane", r"Unschedulable:\s+true", r"  InternalIP:\s+192.168.7.10",
                     r"  Kubelet Version:\s+v1.32.0"]),
    ("pv/pv-@", [r"Reclaim Policy:\s+Retain", r"Access Modes:\s+RWO,ROX", r"Capacity:\s+5Gi",
                 r"Claim:\s+@NS/data", r"    Type:\s+HostPath \(bare host directory volume\)"]),
    ("sc/sc-@", [r"IsDefaultClass:\s+Yes", r"Provisioner:\s+kybernetes.io/local-path",
                 r"AllowVolumeExpansion:\s+True", r"VolumeBindingMode:\s+WaitForFirstConsumer"]),
    ("ns/@NS", [r"Status:\s+Active", r"Name:\s+@NS"]),
]


@pytest.mark.parametrize(("ref", "lines"), DESCRIBE, ids=[d[0].split("/")[0] for d in DESCRIBE])
def test_describe(seeded: Seeded, ref: str, lines: list[str]) -> None:
    ref = ref.replace("@NS", seeded.ns).replace("-@", f"-{seeded.suffix}")
    out = seeded("describe", ref).stdout
    name = ref.split("/", 1)[1]
    assert re.search(rf"^Name:\s+{re.escape(name)}$", out, re.M), out
    for line in lines:
        pattern = line.replace("@NS", seeded.ns)
        assert re.search(rf"^{pattern}$", out, re.M), f"{pattern!r} not in\n{out}"


# ------------------------------------------------------------------------------------------------ explain


@pytest.mark.parametrize(
    ("what", "head"),
    [
        pytest.param("deployment.spec.replicas", ["GROUP:      apps", "KIND:       Deployment", "VERSION:    v1",
                                                  "FIELD: replicas <integer>"], id="deployment-field"),
        pytest.param("pods", ["KIND:       Pod", "VERSION:    v1"], id="pods"),
        pytest.param("cronjobs.spec.jobTemplate", ["GROUP:      batch", "KIND:       CronJob",
                                                   "FIELD: jobTemplate <JobTemplateSpec>"], id="cronjob-field"),
        pytest.param("leases", ["GROUP:      coordination.k8s.io", "KIND:       Lease"], id="leases"),
    ],
)
def test_explain(seeded: Seeded, what: str, head: list[str]) -> None:
    out = seeded("explain", what, namespaced=False).stdout
    lines = out.splitlines()
    for line in head:
        assert line in lines, out
    if what in ("pods", "leases"):
        assert re.search(r"^  spec\t<\w+Spec>", out, re.M), out
        assert re.search(r"^  metadata\t<ObjectMeta>", out, re.M), out


# ------------------------------------------------------------------------------------------------ writes


def test_dry_run_server_creates_nothing(seeded: Seeded) -> None:
    out = seeded("create", "configmap", "dry", "--from-literal=a=b", "--dry-run=server")
    assert out.stdout.strip() == "configmap/dry created (server dry run)"
    out = seeded("apply", "-f", "-", "--dry-run=server", input=NAMESPACED.split("---")[1])
    assert out.stdout.strip() == "service/web-svc unchanged (server dry run)"
    err = seeded("get", "configmap", "dry", check=False)
    assert err.returncode == 1 and err.stderr.strip() == 'Error from server (NotFound): configmaps "dry" not found'


def test_create_invalid_prints_upstream_message(seeded: Seeded) -> None:
    bad = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken
spec:
  selector:
    matchLabels: {app: a}
  template:
    metadata:
      labels: {app: b}
    spec:
      containers:
      - name: c
        image: busybox
"""
    err = seeded("create", "-f", "-", input=bad, check=False)
    assert err.returncode == 1
    assert err.stderr.strip() == (
        'The Deployment "broken" is invalid: spec.template.metadata.labels: Invalid value: '
        'map[string]string{"app":"b"}: `selector` does not match template `labels`')
    svc = "apiVersion: v1\nkind: Service\nmetadata:\n  name: bad-svc\nspec:\n  ports:\n  - port: 70000\n"
    err = seeded("create", "-f", "-", input=svc, check=False)
    assert err.stderr.splitlines() == [
        'The Service "bad-svc" is invalid: ',
        "* spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive",
        "* spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
    ]


def test_delete_by_label_selector(seeded: Seeded) -> None:
    for name in ("sel-a", "sel-b", "sel-keep"):
        seeded("create", "configmap", name)
    seeded("label", "configmap", "sel-a", "sel-b", "purge=yes")
    out = seeded("delete", "configmap", "-l", "purge=yes")
    assert sorted(out.stdout.strip().splitlines()) == ['configmap "sel-a" deleted', 'configmap "sel-b" deleted']
    assert seeded("get", "configmap", "-l", "purge=yes", "-o", "name").stdout == ""
    assert seeded("get", "configmap", "sel-keep", "-o", "name").stdout.strip() == "configmap/sel-keep"


DELETABLE = """
apiVersion: v1
kind: ConfigMap
metadata: {name: gone}
---
apiVersion: v1
kind: Secret
metadata: {name: gone}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: gone}
---
apiVersion: v1
kind: Service
metadata: {name: gone}
spec:
  ports: [{port: 80}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: gone}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: gone}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: LimitRange
metadata: {name: gone}
spec:
  limits: [{type: Container, max: {cpu: "1"}}]
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: gone}
spec:
  hard: {pods: "1"}
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: gone}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: gone}
addressType: IPv4
endpoints: []
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: gone}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 3
"""


def test_delete_every_kind(seeded: Seeded) -> None:
    out = seeded("apply", "-f", "-", input=DELETABLE).stdout.strip().splitlines()
    assert len(out) == 11 and all(line.endswith(" created") for line in out), out
    # no controller manager runs here: the PVC keeps its kubernetes.io/pvc-protection finalizer (Terminating),
    # exactly as on upstream, so don't wait for it to disappear
    out = seeded("delete", "-f", "-", "--wait=false", input=DELETABLE).stdout.strip().splitlines()
    assert out == ['configmap "gone" deleted', 'secret "gone" deleted', 'serviceaccount "gone" deleted',
                   'service "gone" deleted', 'endpoints "gone" deleted', 'persistentvolumeclaim "gone" deleted',
                   'limitrange "gone" deleted', 'resourcequota "gone" deleted',
                   'lease.coordination.k8s.io "gone" deleted', 'endpointslice.discovery.k8s.io "gone" deleted',
                   'horizontalpodautoscaler.autoscaling "gone" deleted']
    err = seeded("delete", "lease", "gone", check=False)
    assert err.returncode == 1
    assert err.stderr.strip() == 'Error from server (NotFound): leases.coordination.k8s.io "gone" not found'


def test_delete_seeded_kinds_one_by_one(seeded: Seeded) -> None:
    """Runs after the read-only tests of this version (module order): deletes the workload kinds by name."""
    for ref, message in [
        ("ev/web-pod.started", 'event "web-pod.started" deleted'),
        ("events.v1.events.k8s.io/web-deploy.scaled", 'event.events.k8s.io "web-deploy.scaled" deleted'),
        ("controllerrevisions/db-7f9c", 'controllerrevision.apps "db-7f9c" deleted'),
        ("cj/hello", 'cronjob.batch "hello" deleted'),
        ("job/pi", 'job.batch "pi" deleted'),
        ("ds/agent", 'daemonset.apps "agent" deleted'),
        ("sts/db", 'statefulset.apps "db" deleted'),
        ("rc/legacy-rc", 'replicationcontroller "legacy-rc" deleted'),
        ("rs/web-rs", 'replicaset.apps "web-rs" deleted'),
    ]:
        started = time.monotonic()
        out = seeded("delete", ref, "--wait")
        assert out.stdout.strip() == message
        assert time.monotonic() - started < 10
    assert seeded("get", "rs/web-rs", check=False).returncode == 1
    tag = seeded.suffix
    for ref, message in [(f"sc/sc-{tag}", f'storageclass.storage.k8s.io "sc-{tag}" deleted'),
                         (f"node/node-{tag}", f'node "node-{tag}" deleted')]:
        assert seeded("delete", ref, namespaced=False).stdout.strip() == message


# ------------------------------------------------------------------------------------------------ manifests

NAMESPACED = """
apiVersion: v1
kind: Pod
metadata:
  name: web-pod
  labels: {app: web, tier: front}
spec:
  readinessGates:
  - conditionType: example.com/ready
  containers:
  - name: nginx
    image: nginx:1.27
    ports:
    - containerPort: 80
  - name: sidecar
    image: busybox
    command: ["sleep", "3600"]
---
apiVersion: v1
kind: Service
metadata:
  name: web-svc
  labels: {app: web}
spec:
  selector: {app: web}
  ports:
  - name: http
    port: 80
    targetPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: web-np
spec:
  type: NodePort
  selector: {app: web}
  ports:
  - port: 443
    nodePort: @NODEPORT@
---
apiVersion: v1
kind: Endpoints
metadata:
  name: web-svc
subsets:
- addresses:
  - ip: 10.42.0.5
  - ip: 10.42.0.6
  ports:
  - name: http
    port: 8080
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
  labels: {x: "y"}
data:
  mode: production
  level: debug
binaryData:
  blob: AAEC
---
apiVersion: v1
kind: Secret
metadata:
  name: app-secret
type: Opaque
stringData:
  password: s3cr3t
data:
  user: YWRtaW4=
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: builder
---
apiVersion: v1
kind: Event
metadata:
  name: web-pod.started
involvedObject:
  kind: Pod
  name: web-pod
  namespace: @NS@
  apiVersion: v1
  fieldPath: spec.containers{nginx}
reason: Started
message: Started container nginx
type: Normal
source:
  component: kubelet
  host: node-1
firstTimestamp: "2024-01-01T00:00:00Z"
lastTimestamp: "2024-01-01T00:00:00Z"
count: 3
---
apiVersion: events.k8s.io/v1
kind: Event
metadata:
  name: web-deploy.scaled
eventTime: "2024-01-01T00:00:00.000000Z"
regarding:
  kind: Deployment
  name: web-deploy
  namespace: @NS@
  apiVersion: apps/v1
reason: ScalingReplicaSet
note: Scaled up replica set web-deploy-abc to 2
type: Normal
action: Scale
reportingController: deployment-controller
reportingInstance: kyb-controller-manager
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: fast
  resources:
    requests:
      storage: 1Gi
---
apiVersion: v1
kind: ReplicationController
metadata:
  name: legacy-rc
spec:
  replicas: 2
  selector: {app: legacy}
  template:
    metadata:
      labels: {app: legacy}
    spec:
      containers:
      - name: app
        image: busybox
---
apiVersion: v1
kind: LimitRange
metadata:
  name: limits
spec:
  limits:
  - type: Container
    default:
      cpu: 500m
      memory: 256Mi
    defaultRequest:
      cpu: 100m
---
apiVersion: v1
kind: ResourceQuota
metadata:
  name: quota
spec:
  hard:
    pods: "10"
    requests.cpu: "4"
    limits.memory: 8Gi
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-deploy
  labels: {app: web}
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-rs
spec:
  replicas: 2
  selector:
    matchLabels: {app: rs}
  template:
    metadata:
      labels: {app: rs}
    spec:
      containers:
      - name: nginx
        image: nginx
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      nodeSelector:
        kubernetes.io/os: linux
      containers:
      - name: agent
        image: busybox
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  replicas: 2
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      containers:
      - name: postgres
        image: postgres:16
---
apiVersion: apps/v1
kind: ControllerRevision
metadata:
  name: db-7f9c
  ownerReferences:
  - apiVersion: apps/v1
    kind: StatefulSet
    name: db
    uid: 6c1c6a9e-0000-4000-8000-000000000001
    controller: true
data:
  spec:
    template:
      metadata:
        labels: {app: db}
revision: 1
---
apiVersion: batch/v1
kind: Job
metadata:
  name: pi
spec:
  backoffLimit: 4
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: pi
        image: perl:5.34
        command: ["perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"]
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: hello
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: hello
            image: busybox
            command: ["date"]
---
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata:
  name: web-hpa1
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: web-deploy
  minReplicas: 1
  maxReplicas: 5
  targetCPUUtilizationPercentage: 70
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web-hpa2
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: web-deploy
  minReplicas: 2
  maxReplicas: 10
  metrics:
  - type: Resource
    resource:
      name: memory
      target:
        type: AverageValue
        averageValue: 500Mi
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: my-lock
spec:
  holderIdentity: node-a
  leaseDurationSeconds: 15
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-svc-abc
  labels:
    kubernetes.io/service-name: web-svc
addressType: IPv4
ports:
- name: http
  port: 8080
  protocol: TCP
endpoints:
- addresses: ["10.42.0.5"]
  conditions:
    ready: true
- addresses: ["10.42.0.6"]
"""

CLUSTER = """
apiVersion: v1
kind: Node
metadata:
  name: node-@SUFFIX@
  labels:
    node-role.kubernetes.io/control-plane: ""
    kubernetes.io/os: linux
spec:
  unschedulable: true
status:
  conditions:
  - type: Ready
    status: "True"
    reason: KubeletReady
    message: kubelet is posting ready status
  addresses:
  - type: InternalIP
    address: 192.168.7.10
  - type: Hostname
    address: node-@SUFFIX@
  nodeInfo:
    kubeletVersion: v1.32.0
    osImage: Debian GNU/Linux 12 (bookworm)
    kernelVersion: 6.1.0-18-amd64
    containerRuntimeVersion: containerd://1.7.24
    architecture: amd64
    operatingSystem: linux
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: pv-@SUFFIX@
spec:
  capacity:
    storage: 5Gi
  accessModes: [ReadWriteOnce, ReadOnlyMany]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: fast
  claimRef:
    namespace: @NS@
    name: data
  hostPath:
    path: /tmp/pv-@SUFFIX@
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: sc-@SUFFIX@
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kybernetes.io/local-path
reclaimPolicy: Retain
volumeBindingMode: WaitForFirstConsumer
allowVolumeExpansion: true
"""


def namespaced_manifest(ns: str, index: int) -> str:
    """Every namespaced built-in kind, for namespace ``ns`` (NodePort ``30400 + index``)."""
    return NAMESPACED.replace("@NS@", ns).replace("@NODEPORT@", str(30400 + index))


def cluster_manifest(suffix: str, ns: str) -> str:
    """A Node, a PersistentVolume (claimed by ``ns``/data) and a default StorageClass named by ``suffix``."""
    return CLUSTER.replace("@SUFFIX@", suffix).replace("@NS@", ns)
