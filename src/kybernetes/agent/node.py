"""``kyb agent``: one real node — local registry + offline images, containerd, the network safety net and CNI,
the kubelet and its HTTPS server.

Start order matters for network safety: the egress drop rules are installed before the CNI config exists, and
the CNI config only once the node has its pod CIDR (from the controller manager's node IPAM), so no pod ever has a
network without the safety net.  On exit the kubelet and containerd stop; pods keep running (containerd's shims
survive) unless ``cleanup`` is set, which removes every pod, the rules, routes, bridges and cgroups we created.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import dataclass
from pathlib import Path

from kybernetes.agent.containerd import Containerd
from kybernetes.agent.images import ensure_images
from kybernetes.agent.localpath import LocalPathProvisioner
from kybernetes.agent.network import NetworkConfig, NetworkSafetyNet, pod_gateway, write_cni_config
from kybernetes.agent.registry import LocalRegistry
from kybernetes.client.config import load_kubeconfig
from kybernetes.client.errors import ApiError
from kybernetes.client.rest import Client, resource
from kybernetes.dns.cluster import ClusterDNS
from kybernetes.kubelet.cgroups import CgroupManager
from kybernetes.kubelet.kubelet import Kubelet
from kybernetes.kubelet.server import KubeletServer, kubelet_ssl_context
from kybernetes.kubelet.volumes.loopfs import LoopBackend
from kybernetes.proxy.nodeproxy import NodeProxy

log = logging.getLogger(__name__)
NODES = resource("", "v1", "nodes")


@dataclass
class AgentOptions:
    kubeconfig: Path
    data_dir: Path
    node_name: str = ""
    node_ip: str = ""
    kubelet_port: int = 10250
    serving_cert: Path | None = None
    serving_key: Path | None = None
    client_ca: Path | None = None
    cleanup: bool = False
    dns_upstream: str = ""  # cluster DNS forwards other names here only when set

    @property
    def name(self) -> str:
        return self.node_name or socket.gethostname().lower()


async def _remove_cgroups(cgroups: CgroupManager, within: float = 10.0) -> None:
    """Pod and QoS cgroups of every pod (containerd removed the containers; their last processes may still be
    exiting, so retry for a while)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        for uid in cgroups.pod_cgroups():
            cgroups.remove_pod(uid)
        cgroups.remove_qos()
        if not cgroups.pod_cgroups() or asyncio.get_running_loop().time() > deadline:
            return
        await asyncio.sleep(0.2)


def _free_loopback_port() -> int:
    """A free port on 127.0.0.1 for containerd's streaming server (only the kubelet connects to it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _pod_cidr(client: Client, node: str) -> str:
    """Wait until node IPAM gave ``node`` its pod CIDR."""
    while True:
        try:
            obj = await client.get(NODES, "", node)
            cidr = str((obj.get("spec") or {}).get("podCIDR") or "")
            if cidr:
                return cidr
        except ApiError as exc:
            log.debug("waiting for node %s: %s", node, exc)
        await asyncio.sleep(0.5)


async def run(options: AgentOptions, ready: asyncio.Event | None = None) -> None:
    data_dir = options.data_dir
    client = Client(load_kubeconfig(options.kubeconfig), user_agent=f"kubelet/{options.name}")
    registry = LocalRegistry(data_dir)
    containerd: Containerd | None = None
    safety: NetworkSafetyNet | None = None
    server: KubeletServer | None = None
    kubelet: Kubelet | None = None
    node_proxy: NodeProxy | None = None
    provisioner = LocalPathProvisioner(client, options.name, data_dir / "storage", LoopBackend())
    try:
        await registry.start()
        await ensure_images(registry.address, data_dir / "images")
        containerd = Containerd(data_dir, registry.address, stream_port=_free_loopback_port())
        await containerd.start()
        cri = containerd.client()
        kubelet_options: dict[str, object] = {}
        if options.node_ip:
            kubelet_options["node_ip"] = options.node_ip
        kubelet = Kubelet(client, cri, cri, options.name, data_dir / "kubelet", options=kubelet_options)
        if options.serving_cert and options.serving_key and options.client_ca:
            server = KubeletServer(kubelet, cri, port=options.kubelet_port, node_name=options.name,
                                   ssl_context=kubelet_ssl_context(options.serving_cert, options.serving_key,
                                                                   options.client_ca))
            await server.start()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(kubelet.run(), name="kubelet")
            tg.create_task(provisioner.run(), name="local-path provisioner")
            cidr = await _pod_cidr(client, options.name)
            cfg = NetworkConfig(cidr, data_dir / "network")
            safety = NetworkSafetyNet(cfg)
            await safety.install()
            write_cni_config(cfg, containerd.cni_conf_dir)
            # services (proxy) and cluster DNS on the pod bridge's gateway, published as kube-dns (issue 5)
            node_proxy = NodeProxy(client, options.name, options.node_ip, data_dir / "proxy",
                                   cluster_cidr=cfg.cluster_cidr, dns_ip=pod_gateway(cidr))
            tg.create_task(node_proxy.run(), name="proxy")
            tg.create_task(ClusterDNS(client, host=pod_gateway(cidr), upstream=options.dns_upstream).run(),
                           name="dns")
            log.info("node %s: pod network %s ready", options.name, cidr)
            if ready is not None:
                ready.set()
    finally:
        if server is not None:
            with contextlib.suppress(Exception):
                await server.stop()
        if containerd is not None:
            if options.cleanup:
                await containerd.cleanup()
                if kubelet is not None and kubelet.cgroups is not None:
                    await _remove_cgroups(kubelet.cgroups)
            else:
                await containerd.stop()
        if options.cleanup:
            with contextlib.suppress(Exception):
                await provisioner.cleanup()
        if node_proxy is not None and options.cleanup:
            with contextlib.suppress(Exception):
                await node_proxy.cleanup()
        if safety is not None and options.cleanup:
            await safety.remove()
        await registry.stop()
        await client.close()
