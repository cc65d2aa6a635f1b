"""Table-driven filter verdicts and scores per plugin, over crafted nodes and pods."""

from __future__ import annotations

from typing import Any

import pytest
from sched_builders import node, node_info, pod

from kybernetes.scheduler import framework as fw
from kybernetes.scheduler.nodeinfo import PodInfo, pod_requests
from kybernetes.scheduler.plugins import (
    balancedallocation,
    interpodaffinity,
    nodeaffinity,
    nodename,
    nodeports,
    noderesources,
    nodeunschedulable,
    podtopologyspread,
    tainttoleration,
    volumebinding,
)

Obj = dict[str, Any]


def run_filter(plugin: Any, p: Obj, n: Any, snapshot_nodes: list[Any] | None = None) -> fw.Status | None:
    state = fw.CycleState()
    pi = PodInfo(p)
    snap = fw.Snapshot(snapshot_nodes if snapshot_nodes is not None else [n])
    state[fw.SNAPSHOT_KEY] = snap
    if hasattr(plugin, "pre_filter"):
        _, st = plugin.pre_filter(state, pi, snap)
        if st is not None and st.code == fw.Code.SKIP:
            return None
        if st is not None:
            rejected: fw.Status = st
            return rejected
    result: fw.Status | None = plugin.filter(state, pi, n)
    return result


def reasons(st: fw.Status | None) -> tuple[str, ...]:
    return () if st is None else st.reasons


# ------------------------------------------------------------------------------------------- NodeResourcesFit

@pytest.mark.parametrize(("p", "n", "existing", "want"), [
    pytest.param(pod("p", cpu="1"), node("n", cpu="2"), [], (), id="fits"),
    pytest.param(pod("p", cpu="3"), node("n", cpu="2"), [], ("Insufficient cpu",), id="cpu"),
    pytest.param(pod("p", cpu="1", memory="1Gi"), node("n", cpu="2", memory="2Gi"),
                 [pod("e", cpu="1500m", memory="1500Mi", node_name="n")],
                 ("Insufficient cpu", "Insufficient memory"), id="cpu-and-memory-with-existing"),
    pytest.param(pod("p"), node("n", pods="1"), [pod("e", node_name="n")], ("Too many pods",), id="pods"),
    pytest.param(pod("p", initContainers=[{"name": "i", "resources": {"requests": {"cpu": "3"}}}]),
                 node("n", cpu="2"), [], ("Insufficient cpu",), id="init-container-max"),
    pytest.param(pod("p", cpu="1", overhead={"cpu": "1500m"}), node("n", cpu="2"), [], ("Insufficient cpu",),
                 id="overhead"),
    pytest.param(pod("p", containers=[{"name": "c", "resources": {"requests": {"example.com/gpu": "1"}}}]),
                 node("n"), [], ("Insufficient example.com/gpu",), id="extended-resource"),
    pytest.param(pod("p"), node("n", cpu="0"), [], (), id="no-requests-fit-anywhere"),
])
def test_node_resources_fit(p: Obj, n: Obj, existing: list[Obj], want: tuple[str, ...]) -> None:
    st = run_filter(noderesources.new(), p, node_info(n, *existing))
    assert reasons(st) == want
    if want:
        assert st is not None and st.code == fw.Code.UNSCHEDULABLE


def test_pod_requests_sidecars() -> None:
    spec = {"containers": [{"resources": {"requests": {"cpu": "1"}}}],
            "initContainers": [{"restartPolicy": "Always", "resources": {"requests": {"cpu": "500m"}}},
                               {"resources": {"requests": {"cpu": "2"}}}]}
    # sidecar runs with the app (1.5) and during the later init container (2.5): max is 2.5
    assert pod_requests(spec).milli_cpu == 2500


@pytest.mark.parametrize(("requested", "capacity", "want"), [
    pytest.param(0, 1000, 100, id="empty"),
    pytest.param(500, 1000, 50, id="half"),
    pytest.param(1500, 1000, 0, id="over"),
    pytest.param(1, 0, 0, id="no-capacity"),
])
def test_least_allocated(requested: int, capacity: int, want: int) -> None:
    assert noderesources.least_allocated(requested, capacity) == want


def test_least_allocated_prefers_emptier_node() -> None:
    p = PodInfo(pod("p", cpu="1", memory="1Gi"))
    empty = node_info(node("a"))
    busy = node_info(node("b"), pod("e", cpu="2", memory="4Gi", node_name="b"))
    plugin = noderesources.new()
    assert plugin.score(fw.CycleState(), p, empty) > plugin.score(fw.CycleState(), p, busy)


@pytest.mark.parametrize(("cpu", "mem", "want"), [
    pytest.param((500, 1000), (50, 100), 100, id="balanced"),
    pytest.param((1000, 1000), (0, 100), 50, id="skewed"),
])
def test_balanced_allocation(cpu: tuple[int, int], mem: tuple[int, int], want: int) -> None:
    assert balancedallocation.balanced_score(cpu[0], cpu[1], mem[0], mem[1]) == want


# ------------------------------------------------------------------------------------------- simple filters

NOSCHED = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


@pytest.mark.parametrize(("plugin", "p", "n", "want"), [
    pytest.param(nodename.new(), pod("p", nodeName="a"), node("a"), (), id="nodename-match"),
    pytest.param(nodename.new(), pod("p", nodeName="a"), node("b"), (nodename.ERR_REASON,), id="nodename-other"),
    pytest.param(nodeunschedulable.new(), pod("p"), node("a", unschedulable=True),
                 ("node(s) were unschedulable",), id="cordoned"),
    pytest.param(nodeunschedulable.new(),
                 pod("p", tolerations=[{"key": "node.kubernetes.io/unschedulable", "operator": "Exists"}]),
                 node("a", unschedulable=True), (), id="cordoned-tolerated"),
    pytest.param(tainttoleration.new(), pod("p"), node("a", taints=[NOSCHED]),
                 ("node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }",), id="taint"),
    pytest.param(tainttoleration.new(), pod("p"), node("a", taints=[{"key": "k", "value": "v",
                                                                     "effect": "NoExecute"}]),
                 ("node(s) had untolerated taint {k: v}",), id="taint-noexecute-value"),
    pytest.param(tainttoleration.new(), pod("p"), node("a", taints=[{"key": "k", "effect": "PreferNoSchedule"}]),
                 (), id="prefer-no-schedule-passes"),
    pytest.param(tainttoleration.new(), pod("p", tolerations=[{"operator": "Exists"}]),
                 node("a", taints=[NOSCHED]), (), id="tolerate-everything"),
    pytest.param(tainttoleration.new(),
                 pod("p", tolerations=[{"key": "k", "operator": "Equal", "value": "x", "effect": "NoSchedule"}]),
                 node("a", taints=[{"key": "k", "value": "y", "effect": "NoSchedule"}]),
                 ("node(s) had untolerated taint {k: y}",), id="toleration-value-mismatch"),
    pytest.param(nodeaffinity.new(), pod("p", nodeSelector={"disk": "ssd"}), node("a", labels={"disk": "ssd"}),
                 (), id="selector-match"),
    pytest.param(nodeaffinity.new(), pod("p", nodeSelector={"disk": "ssd"}), node("a"),
                 ("node(s) didn't match Pod's node affinity/selector",), id="selector-miss"),
    pytest.param(nodeaffinity.new(), pod("p", affinity={"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["x"]}]},
            {"matchExpressions": [{"key": "gen", "operator": "Gt", "values": ["3"]}]}]}}}),
        node("a", labels={"gen": "4"}), (), id="affinity-terms-or-gt"),
    pytest.param(nodeaffinity.new(), pod("p", affinity={"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["b"]}]}]}}}),
        node("a"), ("node(s) didn't match Pod's node affinity/selector",), id="affinity-match-fields"),
    pytest.param(nodeports.new(), pod("p", containers=[{"name": "c", "ports": [{"containerPort": 80,
                                                                                  "hostPort": 8080}]}]),
                 node("a"), (), id="ports-free"),
])
def test_simple_filters(plugin: Any, p: Obj, n: Obj, want: tuple[str, ...]) -> None:
    assert reasons(run_filter(plugin, p, node_info(n))) == want


@pytest.mark.parametrize(("wanted_ip", "used_ip", "proto", "conflict"), [
    pytest.param("0.0.0.0", "10.0.0.1", "TCP", True, id="wildcard-vs-ip"),
    pytest.param("10.0.0.2", "10.0.0.1", "TCP", False, id="different-ips"),
    pytest.param("0.0.0.0", "0.0.0.0", "UDP", False, id="different-protocol"),
])
def test_node_ports(wanted_ip: str, used_ip: str, proto: str, conflict: bool) -> None:
    existing = pod("e", node_name="a", containers=[{"name": "c", "ports": [
        {"containerPort": 80, "hostPort": 8080, "hostIP": used_ip, "protocol": proto}]}])
    incoming = pod("p", containers=[{"name": "c", "ports": [{"containerPort": 80, "hostPort": 8080,
                                                             "hostIP": wanted_ip}]}])
    st = run_filter(nodeports.new(), incoming, node_info(node("a"), existing))
    assert reasons(st) == ((nodeports.ERR_REASON,) if conflict else ())


def test_taint_score_prefers_fewer_prefer_no_schedule() -> None:
    plugin = tainttoleration.new()
    nodes = [node_info(node("a", taints=[{"key": "x", "effect": "PreferNoSchedule"}])), node_info(node("b"))]
    state = fw.CycleState()
    p = PodInfo(pod("p"))
    assert plugin.pre_score(state, p, nodes) is None
    scores = [plugin.score(state, p, n) for n in nodes]
    plugin.normalize(state, p, scores)
    assert scores == [0, 100]


def test_node_affinity_preferred_score() -> None:
    plugin = nodeaffinity.new()
    p = PodInfo(pod("p", affinity={"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 10, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}},
        {"weight": 5, "preference": {"matchExpressions": [{"key": "zone", "operator": "Exists"}]}}]}}))
    nodes = [node_info(node("a", labels={"disk": "ssd", "zone": "z"})), node_info(node("b", labels={"zone": "z"})),
             node_info(node("c"))]
    state = fw.CycleState()
    assert plugin.pre_score(state, p, nodes) is None
    scores = [plugin.score(state, p, n) for n in nodes]
    plugin.normalize(state, p, scores)
    assert scores == [100, 33, 0]


# ------------------------------------------------------------------------------------------- PodTopologySpread

ZONE = "topology.kubernetes.io/zone"


def spread_pod(name: str, when: str = "DoNotSchedule", max_skew: int = 1, **extra: Any) -> Obj:
    return pod(name, labels={"app": "web"}, topologySpreadConstraints=[
        {"maxSkew": max_skew, "topologyKey": ZONE, "whenUnsatisfiable": when,
         "labelSelector": {"matchLabels": {"app": "web"}}, **extra}])


def web(name: str, node_name: str) -> Obj:
    return pod(name, labels={"app": "web"}, node_name=node_name)


@pytest.mark.parametrize(("target", "max_skew", "want"), [
    pytest.param("b", 1, (), id="emptier-zone-ok"),
    pytest.param("a", 1, (podtopologyspread.ERR_CONSTRAINTS_NOT_MATCH,), id="fuller-zone-rejected"),
    pytest.param("a", 2, (), id="max-skew-2-allows"),
    pytest.param("nolabel", 1, (podtopologyspread.ERR_MISSING_LABEL,), id="missing-label"),
])
def test_topology_spread_filter(target: str, max_skew: int, want: tuple[str, ...]) -> None:
    nodes = {"a": node_info(node("a", labels={ZONE: "z1"}), web("w1", "a")),
             "b": node_info(node("b", labels={ZONE: "z2"})),
             "nolabel": node_info(node("nolabel"))}
    st = run_filter(podtopologyspread.new(), spread_pod("p", max_skew=max_skew), nodes[target], list(nodes.values()))
    assert reasons(st) == want
    if target == "nolabel":
        assert st is not None and st.code == fw.Code.UNSCHEDULABLE_AND_UNRESOLVABLE


def test_topology_spread_min_domains() -> None:
    # Only one zone exists but minDomains=2: the global minimum counts as 0, so a second pod there is skew 2.
    nodes = [node_info(node("a", labels={ZONE: "z1"}), web("w1", "a"))]
    st = run_filter(podtopologyspread.new(), spread_pod("p", minDomains=2), nodes[0], nodes)
    assert reasons(st) == (podtopologyspread.ERR_CONSTRAINTS_NOT_MATCH,)


def test_topology_spread_score() -> None:
    plugin = podtopologyspread.new()
    nodes = [node_info(node("a", labels={ZONE: "z1"}), web("w1", "a"), web("w2", "a")),
             node_info(node("b", labels={ZONE: "z2"})), node_info(node("c"))]
    state = fw.CycleState()
    state[fw.SNAPSHOT_KEY] = fw.Snapshot(nodes)
    p = PodInfo(spread_pod("p", when="ScheduleAnyway"))
    assert plugin.pre_score(state, p, nodes) is None
    scores = [plugin.score(state, p, n) for n in nodes]
    plugin.normalize(state, p, scores)
    assert scores[1] == 100 and scores[0] < scores[1] and scores[2] == 0


# ------------------------------------------------------------------------------------------- InterPodAffinity

def term(app: str, key: str = ZONE) -> Obj:
    return {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key}


def cluster() -> list[Any]:
    return [node_info(node("a", labels={ZONE: "z1"}), pod("db", labels={"app": "db"}, node_name="a")),
            node_info(node("b", labels={ZONE: "z2"}))]


@pytest.mark.parametrize(("p", "target", "want"), [
    pytest.param(pod("p", affinity={"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("db")]}}),
                 0, (), id="affinity-same-zone"),
    pytest.param(pod("p", affinity={"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("db")]}}),
                 1, (interpodaffinity.ERR_AFFINITY,), id="affinity-other-zone"),
    pytest.param(pod("p", labels={"app": "x"}, affinity={"podAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term("x")]}}), 1, (), id="affinity-first-of-group"),
    pytest.param(pod("p", affinity={"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term("db")]}}),
        0, (interpodaffinity.ERR_ANTI_AFFINITY,), id="anti-affinity"),
    pytest.param(pod("p", affinity={"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term("db")]}}), 1, (), id="anti-affinity-other-zone"),
    pytest.param(pod("p", namespace="other", affinity={"podAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term("db")]}}), 0, (interpodaffinity.ERR_AFFINITY,),
        id="affinity-namespace-scoped"),
])
def test_inter_pod_affinity_filter(p: Obj, target: int, want: tuple[str, ...]) -> None:
    nodes = cluster()
    assert reasons(run_filter(interpodaffinity.new(), p, nodes[target], nodes)) == want


def test_existing_pods_anti_affinity() -> None:
    guard = pod("guard", labels={"app": "guard"}, node_name="a", affinity={"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term("web", "kubernetes.io/hostname")]}})
    nodes = [node_info(node("a"), guard), node_info(node("b"))]
    incoming = pod("p", labels={"app": "web"})
    assert reasons(run_filter(interpodaffinity.new(), incoming, nodes[0], nodes)) == (
        interpodaffinity.ERR_EXISTING_ANTI_AFFINITY,)
    assert reasons(run_filter(interpodaffinity.new(), incoming, nodes[1], nodes)) == ()


def test_inter_pod_affinity_preferred_score() -> None:
    plugin = interpodaffinity.new()
    nodes = cluster()
    p = PodInfo(pod("p", affinity={"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 50, "podAffinityTerm": term("db")}]}}))
    state = fw.CycleState()
    state[fw.SNAPSHOT_KEY] = fw.Snapshot(nodes)
    assert plugin.pre_score(state, p, nodes) is None
    scores = [plugin.score(state, p, n) for n in nodes]
    plugin.normalize(state, p, scores)
    assert scores == [100, 0]


# ------------------------------------------------------------------------------------------- VolumeBinding

class Volumes:
    def __init__(self, pvcs: dict[str, Obj], pvs: dict[str, Obj], classes: dict[str, Obj]) -> None:
        self.pvcs, self.pvs, self.classes = pvcs, pvs, classes

    def pvc(self, namespace: str, name: str) -> Obj | None:
        return self.pvcs.get(name)

    def pv(self, name: str) -> Obj | None:
        return self.pvs.get(name)

    def storage_class(self, name: str) -> Obj | None:
        return self.classes.get(name)


PV_ZONE1 = {"spec": {"nodeAffinity": {"required": {"nodeSelectorTerms": [
    {"matchExpressions": [{"key": ZONE, "operator": "In", "values": ["z1"]}]}]}}}}


@pytest.mark.parametrize(("claim", "target", "want"), [
    pytest.param("bound", "a", (), id="pv-affinity-match"),
    pytest.param("bound", "b", (volumebinding.ERR_NODE_CONFLICT,), id="pv-affinity-conflict"),
    pytest.param("missing", "a", ('persistentvolumeclaim "missing" not found',), id="pvc-missing"),
    pytest.param("immediate", "a", (volumebinding.ERR_UNBOUND_IMMEDIATE,), id="unbound-immediate"),
    pytest.param("wffc", "a", (), id="unbound-wait-for-first-consumer"),
    pytest.param("wffc-static", "a", (volumebinding.ERR_NO_VOLUMES,), id="wffc-no-provisioner-no-pv"),
])
def test_volume_binding(claim: str, target: str, want: tuple[str, ...]) -> None:
    volumes = Volumes({"bound": {"spec": {"volumeName": "pv1"}}, "immediate": {"spec": {"storageClassName": "std"}},
                       "wffc": {"spec": {"storageClassName": "local"}},
                       "wffc-static": {"spec": {"storageClassName": "static"}}},
                      {"pv1": PV_ZONE1},
                      {"std": {"volumeBindingMode": "Immediate"},
                       "local": {"volumeBindingMode": "WaitForFirstConsumer", "provisioner": "rancher.io/local-path"},
                       "static": {"volumeBindingMode": "WaitForFirstConsumer",
                                  "provisioner": "kubernetes.io/no-provisioner"}})
    nodes = {"a": node_info(node("a", labels={ZONE: "z1"})), "b": node_info(node("b", labels={ZONE: "z2"}))}
    p = pod("p", volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": claim}}])
    assert reasons(run_filter(volumebinding.new(volumes), p, nodes[target], list(nodes.values()))) == want


def test_volume_binding_skips_pods_without_claims() -> None:
    state = fw.CycleState()
    _, st = volumebinding.new().pre_filter(state, PodInfo(pod("p")), fw.Snapshot([]))
    assert st is not None and st.code == fw.Code.SKIP
