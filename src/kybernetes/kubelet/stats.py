"""``/stats/summary``: node, pod and container CPU and memory, in upstream's ``statsapi.Summary`` shape.

Containers come from CRI ``ListContainerStats`` (containerd reads the cgroups and computes ``usageNanoCores``);
the node comes from the root cgroup v1 files (``cpuacct.usage``, ``memory.usage_in_bytes``/``memory.stat``), with
``/proc`` as a fallback. ``usageNanoCores`` of the node is the rate since the previous call of
:meth:`SummaryProvider.summary` (absent on the first). Reading files is behind :class:`HostReader` for tests.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kybernetes.client.metrics import POD_START_DURATION
from kybernetes.kubelet.cri.types import RuntimeService

Obj = dict[str, Any]


@dataclass
class HostReader:
    """Where the node's numbers are read from."""

    cgroup_root: Path = Path("/sys/fs/cgroup")
    proc: Path = Path("/proc")

    def _read(self, path: Path) -> str | None:
        try:
            return path.read_text()
        except OSError:
            return None

    def cpu_usage_ns(self) -> int | None:
        text = self._read(self.cgroup_root / "cpuacct" / "cpuacct.usage")
        if text is not None:
            return int(text.strip())
        stat = self._read(self.proc / "stat")
        if stat is None:
            return None
        fields = stat.splitlines()[0].split()[1:]
        ticks = sum(int(v) for v in fields[:3]) + sum(int(v) for v in fields[5:8])  # user nice system irq softirq steal
        return ticks * 10_000_000  # USER_HZ = 100

    def memory(self) -> tuple[int, int, int] | None:
        """(usageBytes, workingSetBytes, rssBytes)."""
        usage = self._read(self.cgroup_root / "memory" / "memory.usage_in_bytes")
        stat = self._read(self.cgroup_root / "memory" / "memory.stat")
        if usage is not None and stat is not None:
            values = dict(line.split() for line in stat.splitlines() if line.count(" ") == 1)
            used = int(usage.strip())
            inactive = int(values.get("total_inactive_file", 0))
            return used, max(used - inactive, 0), int(values.get("total_rss", 0))
        meminfo = self._read(self.proc / "meminfo")
        if meminfo is None:
            return None
        kb = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in meminfo.splitlines() if ":" in line}
        used = kb.get("MemTotal", 0) - kb.get("MemFree", 0)
        return used, used - kb.get("Inactive(file)", 0), used - kb.get("Cached", 0) - kb.get("Buffers", 0)


def _rfc3339(ns: int) -> str:
    return dt.datetime.fromtimestamp(ns / 1e9, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SummaryProvider:
    """Builds the summary from the runtime (pods, containers) and the host (node)."""

    def __init__(self, node_name: str, runtime: RuntimeService, *, host: HostReader | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.node_name = node_name
        self.runtime = runtime
        self.host = host or HostReader()
        self.clock = clock
        self._last_cpu: tuple[float, int] | None = None

    def _node(self, now: float) -> Obj:
        stamp = _rfc3339(int(now * 1e9))
        node: Obj = {"nodeName": self.node_name, "cpu": {"time": stamp}, "memory": {"time": stamp}}
        cpu = self.host.cpu_usage_ns()
        if cpu is not None:
            node["cpu"]["usageCoreNanoSeconds"] = cpu
            if self._last_cpu is not None and now > self._last_cpu[0]:
                node["cpu"]["usageNanoCores"] = int((cpu - self._last_cpu[1]) / (now - self._last_cpu[0]))
            self._last_cpu = (now, cpu)
        mem = self.host.memory()
        if mem is not None:
            node["memory"].update(usageBytes=mem[0], workingSetBytes=mem[1], rssBytes=mem[2])
        return node

    async def summary(self) -> Obj:
        """The ``Summary``: ``node`` plus one entry per ready sandbox with its containers' stats."""
        now = self.clock()
        sandboxes = {s.id: s for s in await self.runtime.list_pod_sandboxes()}
        containers = {c.id: c for c in await self.runtime.list_containers()}
        pods: dict[str, Obj] = {}
        for sid, sb in sandboxes.items():
            if sb.state.value != "SANDBOX_READY":
                continue
            pods[sid] = {"podRef": {"name": sb.name, "namespace": sb.namespace, "uid": sb.uid},
                         "startTime": _rfc3339(sb.created_at), "containers": [],
                         "cpu": {"time": _rfc3339(int(now * 1e9)), "usageNanoCores": 0, "usageCoreNanoSeconds": 0},
                         "memory": {"time": _rfc3339(int(now * 1e9)), "workingSetBytes": 0, "usageBytes": 0,
                                    "rssBytes": 0}}
        for st in await self.runtime.list_container_stats():
            info = containers.get(st.container_id)
            if info is None or info.sandbox_id not in pods or info.state.value != "CONTAINER_RUNNING":
                continue
            pod = pods[info.sandbox_id]
            stamp = _rfc3339(st.timestamp or int(now * 1e9))
            pod["containers"].append({
                "name": info.name, "startTime": _rfc3339(info.created_at),
                "cpu": {"time": stamp, "usageNanoCores": st.cpu_usage_nano_cores,
                        "usageCoreNanoSeconds": st.cpu_usage_core_nanoseconds},
                "memory": {"time": stamp, "workingSetBytes": st.memory_working_set_bytes,
                           "usageBytes": st.memory_usage_bytes, "rssBytes": st.memory_rss_bytes},
            })
            pod["cpu"]["usageNanoCores"] += st.cpu_usage_nano_cores
            pod["cpu"]["usageCoreNanoSeconds"] += st.cpu_usage_core_nanoseconds
            for key, value in (("workingSetBytes", st.memory_working_set_bytes),
                               ("usageBytes", st.memory_usage_bytes), ("rssBytes", st.memory_rss_bytes)):
                pod["memory"][key] += value
        return {"node": self._node(now), "pods": list(pods.values())}


# ---------------------------------------------------------------------------------------------- /metrics/resource

RESOURCE_METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_HELP = {
    "container_cpu_usage_seconds_total": ("counter", "Cumulative cpu time consumed by the container in core-seconds"),
    "container_memory_working_set_bytes": ("gauge", "Current working set of the container in bytes"),
    "container_start_time_seconds": ("gauge", "Start time of the container since unix epoch in seconds"),
    "node_cpu_usage_seconds_total": ("counter", "Cumulative cpu time consumed by the node in core-seconds"),
    "node_memory_working_set_bytes": ("gauge", "Current working set of the node in bytes"),
    "pod_cpu_usage_seconds_total": ("counter", "Cumulative cpu time consumed by the pod in core-seconds"),
    "pod_memory_working_set_bytes": ("gauge", "Current working set of the pod in bytes"),
    "resource_scrape_error": ("gauge", "1 if there was an error while getting container metrics, 0 otherwise"),
}


def _parse_rfc3339_ms(stamp: str | None) -> int | None:
    if not stamp:
        return None
    try:
        return int(dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).timestamp() * 1000)
    except ValueError:
        return None


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _sample(name: str, labels: dict[str, str], value: float, stamp: str | None = None) -> str:
    label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
    head = f"{name}{{{label_text}}}" if label_text else name
    ms = _parse_rfc3339_ms(stamp)
    return f"{head} {value!r}" + (f" {ms}" if ms is not None else "")


def resource_metrics_text(summary: Obj, scrape_error: bool = False) -> str:
    """The kubelet's ``/metrics/resource`` (Prometheus text format 0.0.4) rendered from a ``Summary``: cumulative
    CPU in core-seconds and working-set bytes for the node, each pod and each container, with the sample's
    timestamp in milliseconds, as upstream's resource metrics collector."""
    samples: dict[str, list[str]] = {name: [] for name in _HELP}
    node = summary.get("node") or {}
    cpu, mem = node.get("cpu") or {}, node.get("memory") or {}
    if "usageCoreNanoSeconds" in cpu:
        samples["node_cpu_usage_seconds_total"].append(
            _sample("node_cpu_usage_seconds_total", {}, cpu["usageCoreNanoSeconds"] / 1e9, cpu.get("time")))
    if "workingSetBytes" in mem:
        samples["node_memory_working_set_bytes"].append(
            _sample("node_memory_working_set_bytes", {}, float(mem["workingSetBytes"]), mem.get("time")))
    for pod in summary.get("pods") or []:
        ref = pod.get("podRef") or {}
        pod_labels = {"namespace": str(ref.get("namespace", "")), "pod": str(ref.get("name", ""))}
        pcpu, pmem = pod.get("cpu") or {}, pod.get("memory") or {}
        if "usageCoreNanoSeconds" in pcpu:
            samples["pod_cpu_usage_seconds_total"].append(_sample(
                "pod_cpu_usage_seconds_total", pod_labels, pcpu["usageCoreNanoSeconds"] / 1e9, pcpu.get("time")))
        if "workingSetBytes" in pmem:
            samples["pod_memory_working_set_bytes"].append(
                _sample("pod_memory_working_set_bytes", pod_labels, float(pmem["workingSetBytes"]), pmem.get("time")))
        for container in pod.get("containers") or []:
            labels = {"container": str(container.get("name", "")), **pod_labels}
            ccpu, cmem = container.get("cpu") or {}, container.get("memory") or {}
            if "usageCoreNanoSeconds" in ccpu:
                samples["container_cpu_usage_seconds_total"].append(_sample(
                    "container_cpu_usage_seconds_total", labels, ccpu["usageCoreNanoSeconds"] / 1e9, ccpu.get("time")))
            if "workingSetBytes" in cmem:
                samples["container_memory_working_set_bytes"].append(_sample(
                    "container_memory_working_set_bytes", labels, float(cmem["workingSetBytes"]), cmem.get("time")))
            started = _parse_rfc3339_ms(container.get("startTime"))
            if started is not None:
                samples["container_start_time_seconds"].append(
                    _sample("container_start_time_seconds", labels, started / 1000))
    samples["resource_scrape_error"].append(_sample("resource_scrape_error", {}, 1.0 if scrape_error else 0.0))
    lines: list[str] = []
    for name in sorted(samples):
        if not samples[name]:
            continue
        kind, text = _HELP[name]
        lines += [f"# HELP {name} [STABLE] {text}", f"# TYPE {name} {kind}", *samples[name]]
    return "\n".join(lines) + "\n"


def observe_pod_start(old_status: Obj, new_status: Obj, now: float) -> None:
    """Record ``kubelet_pod_start_duration_seconds`` (from ``status.startTime``, when the kubelet first saw the
    pod, to now) when a status turns the pod Running for the first time."""
    if new_status.get("phase") != "Running" or old_status.get("phase") == "Running":
        return
    started = _parse_rfc3339_ms(new_status.get("startTime"))
    if started is not None:
        POD_START_DURATION.observe(max(now - started / 1000, 0.0))
