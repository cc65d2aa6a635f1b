"""Pure builders for the CRI sandbox and container configs of a pod (recipe §5.2), and the pod's hosts file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kybernetes.kubelet import labels as lb
from kybernetes.kubelet.cgroups import container_resources
from kybernetes.kubelet.cri.types import ContainerConfig, DNSConfig, Mount, PodSandboxConfig, PortMapping

Obj = dict[str, Any]


@dataclass
class NodeConfig:
    """Node-wide settings the configs depend on."""

    cluster_dns: list[str] = field(default_factory=lambda: ["10.43.0.10"])
    cluster_domain: str = "cluster.local"
    host_resolv: DNSConfig = field(default_factory=DNSConfig)  # for dnsPolicy Default
    memory_capacity: int = 0


def parse_resolv_conf(text: str) -> DNSConfig:
    out = DNSConfig()
    for line in text.splitlines():
        parts = line.split("#", 1)[0].split()
        if not parts:
            continue
        if parts[0] == "nameserver" and len(parts) > 1:
            out.servers.append(parts[1])
        elif parts[0] in ("search", "domain"):
            out.searches = parts[1:]
        elif parts[0] == "options":
            out.options.extend(parts[1:])
    return out


def dns_config(pod: Obj, node: NodeConfig) -> DNSConfig:
    """Upstream's DNS configurer: ClusterFirst (also for hostNetwork with ClusterFirstWithHostNet), Default
    (the node's resolv.conf), None (only ``dnsConfig``); ``dnsConfig`` is merged in."""
    spec = pod.get("spec") or {}
    namespace = (pod.get("metadata") or {}).get("namespace", "")
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    if policy == "ClusterFirst" and spec.get("hostNetwork"):
        policy = "Default"
    if policy in ("ClusterFirst", "ClusterFirstWithHostNet"):
        d = node.cluster_domain
        out = DNSConfig(servers=list(node.cluster_dns), searches=[f"{namespace}.svc.{d}", f"svc.{d}", d],
                        options=["ndots:5"])
    elif policy == "Default":
        out = DNSConfig(list(node.host_resolv.servers), list(node.host_resolv.searches),
                        list(node.host_resolv.options))
    else:
        out = DNSConfig()
    extra = spec.get("dnsConfig") or {}
    for server in extra.get("nameservers") or []:
        if server not in out.servers:
            out.servers.append(server)
    for search in extra.get("searches") or []:
        if search not in out.searches:
            out.searches.append(search)
    options = {o.split(":", 1)[0]: o for o in out.options}
    for opt in extra.get("options") or []:
        name = opt.get("name", "")
        options[name] = f"{name}:{opt['value']}" if opt.get("value") is not None else name
    out.options = list(options.values())
    out.servers = out.servers[:3]
    out.searches = out.searches[:32]
    return out


def pod_hostname(pod: Obj) -> str:
    spec = pod.get("spec") or {}
    return str(spec.get("hostname") or (pod.get("metadata") or {}).get("name", ""))[:63].rstrip("-.")


def port_mappings(pod: Obj) -> list[PortMapping]:
    out: list[PortMapping] = []
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                out.append(PortMapping(container_port=int(port.get("containerPort", 0)),
                                       host_port=int(port["hostPort"]), protocol=str(port.get("protocol", "TCP")),
                                       host_ip=str(port.get("hostIP", ""))))
    return out


def sandbox_config(pod: Obj, *, attempt: int, log_directory: str, cgroup_parent: str,
                   node: NodeConfig) -> PodSandboxConfig:
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    sc = spec.get("securityContext") or {}
    return PodSandboxConfig(
        name=meta.get("name", ""), namespace=meta.get("namespace", ""), uid=meta.get("uid", ""), attempt=attempt,
        hostname=pod_hostname(pod), log_directory=log_directory, dns=dns_config(pod, node),
        port_mappings=port_mappings(pod), labels=lb.sandbox_labels(pod),
        annotations={str(k): str(v) for k, v in (meta.get("annotations") or {}).items()},
        cgroup_parent=cgroup_parent, host_network=bool(spec.get("hostNetwork")),
        host_pid=bool(spec.get("hostPID")), host_ipc=bool(spec.get("hostIPC")),
        sysctls={s.get("name", ""): str(s.get("value", "")) for s in sc.get("sysctls") or []},
        run_as_user=sc.get("runAsUser"), run_as_group=sc.get("runAsGroup"),
        supplemental_groups=[int(g) for g in sc.get("supplementalGroups") or []],
    )


def hosts_file(pod: Obj, pod_ips: list[str]) -> str:
    """The ``/etc/hosts`` the kubelet mounts into every container of a non-hostNetwork pod."""
    lines = ["# Kubernetes-managed hosts file.", "127.0.0.1\tlocalhost",
             "::1\tlocalhost ip6-localhost ip6-loopback", "fe00::0\tip6-localnet", "fe00::0\tip6-mcastprefix",
             "fe00::1\tip6-allnodes", "fe00::2\tip6-allrouters"]
    spec = pod.get("spec") or {}
    hostname = pod_hostname(pod)
    fqdn = f"{hostname}.{spec['subdomain']}.{(pod.get('metadata') or {}).get('namespace', '')}.svc.cluster.local" \
        if spec.get("subdomain") else ""
    for ip in pod_ips:
        lines.append(f"{ip}\t{fqdn}\t{hostname}" if fqdn else f"{ip}\t{hostname}")
    aliases = spec.get("hostAliases") or []
    if aliases:
        lines.append("")
        lines.append("# Entries added by HostAliases.")
        for alias in aliases:
            lines.append(f"{alias.get('ip', '')}\t" + "\t".join(alias.get("hostnames") or []))
    return "\n".join(lines) + "\n"


def container_config(pod: Obj, container: Obj, *, restart_count: int, image: str, command: list[str],
                     args: list[str], envs: list[tuple[str, str]], mounts: list[Mount], qos: str,
                     init: bool, memory_capacity: int = 0) -> ContainerConfig:
    name = container.get("name", "")
    sc = container.get("securityContext") or {}
    pod_sc = (pod.get("spec") or {}).get("securityContext") or {}
    caps = sc.get("capabilities") or {}
    return ContainerConfig(
        name=name, image=image, attempt=restart_count, command=command, args=args,
        working_dir=str(container.get("workingDir", "")), envs=envs, mounts=mounts,
        labels=lb.container_labels(pod, name, init), annotations=lb.container_annotations(pod, container,
                                                                                          restart_count),
        log_path=f"{name}/{restart_count}.log", stdin=bool(container.get("stdin")),
        stdin_once=bool(container.get("stdinOnce")), tty=bool(container.get("tty")),
        resources=container_resources(container, qos, memory_capacity), privileged=bool(sc.get("privileged")),
        run_as_user=sc.get("runAsUser", pod_sc.get("runAsUser")),
        run_as_group=sc.get("runAsGroup", pod_sc.get("runAsGroup")),
        run_as_non_root=bool(sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot", False))),
        readonly_rootfs=bool(sc.get("readOnlyRootFilesystem")),
        capabilities_add=[str(c) for c in caps.get("add") or []],
        capabilities_drop=[str(c) for c in caps.get("drop") or []],
    )


def extra_mounts(pod: Obj, container: Obj, hosts_path: Path | None, termination_path: Path) -> list[Mount]:
    """``/etc/hosts`` (unless the container mounts its own, or hostNetwork) and the termination-log file."""
    out: list[Mount] = []
    paths = {m.get("mountPath") for m in container.get("volumeMounts") or []}
    if hosts_path is not None and "/etc/hosts" not in paths:
        out.append(Mount(container_path="/etc/hosts", host_path=str(hosts_path)))
    out.append(Mount(container_path=str(container.get("terminationMessagePath") or "/dev/termination-log"),
                     host_path=str(termination_path)))
    return out
