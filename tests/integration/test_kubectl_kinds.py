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
