"""``kyb``: the multi-call entry point (server, apiserver, kubectl, …).  See ARCHITECTURE.md → CLI contract."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

DEFAULT_DATA_DIR = Path(os.environ.get("KYB_DATA_DIR", "/var/lib/kybernetes"))


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname).1s %(name)s: %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def _run(main: Coroutine[Any, Any, None]) -> int:
    """Run ``main`` until it returns or SIGTERM/SIGINT cancels it; exit 0 on a clean stop."""
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        runner = asyncio.Runner()

    async def supervised() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        await main

    with runner, contextlib.suppress(asyncio.CancelledError):
        runner.run(supervised())
    return 0


def _apiserver_options(args: argparse.Namespace) -> Any:
    from kybernetes.apiserver.server import Options

    return Options(data_dir=Path(args.data_dir), https_port=args.https_port, bind_address=args.bind_address,
                   datastore=args.datastore, extra_sans=list(args.tls_san or []),
                   compact_keep_revisions=args.storage_keep_revisions,
                   compact_interval=args.storage_compact_interval,
                   watch_bookmark_interval=args.watch_bookmark_interval,
                   max_requests_inflight=args.max_requests_inflight,
                   max_mutating_requests_inflight=args.max_mutating_requests_inflight)


def _add_apiserver_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR), help="state, certificates and kubeconfig")
    p.add_argument("--https-port", type=int, default=6443)
    p.add_argument("--bind-address", default="127.0.0.1")
    p.add_argument("--datastore", default="sqlite", help="sqlite (embedded) or etcd://host:port,…")
    p.add_argument("--tls-san", action="append", help="extra name or IP for the serving certificate")
    p.add_argument("--storage-keep-revisions", type=int, default=10000,
                   help="revisions of history kept for watches (older ones get 410 Gone)")
    p.add_argument("--storage-compact-interval", type=float, default=300.0, help="seconds between compactions")
    p.add_argument("--max-requests-inflight", type=int, default=100,
                   help="with --max-mutating-requests-inflight: the seats API Priority and Fairness shares out")
    p.add_argument("--max-mutating-requests-inflight", type=int, default=50)
    p.add_argument("--watch-bookmark-interval", type=float, default=30.0,
                   help="seconds between BOOKMARK events on watches that asked for them")
    p.add_argument("-v", "--verbose", action="store_true")


def cmd_apiserver(args: argparse.Namespace) -> int:
    from kybernetes.apiserver.server import run

    _setup_logging(args.verbose)
    return _run(run(_apiserver_options(args)))


def cmd_server(args: argparse.Namespace) -> int:
    from kybernetes.cli.supervisor import ServerOptions, serve

    _setup_logging(args.verbose)
    options = ServerOptions(data_dir=Path(args.data_dir), https_port=args.https_port,
                            bind_address=args.bind_address, datastore=args.datastore,
                            simulated_nodes=args.simulated_nodes, agent=not args.no_agent, cleanup=args.cleanup,
                            extra_args={"controller-manager": [f"--option={o}" for o in args.controller_option or []]})
    if args.lb_pool:
        options.extra_args["controller-manager"].append(f"--option=lb_pool={args.lb_pool}")
    if args.dns_upstream:
        options.extra_args.setdefault("agent", []).extend(["--dns-upstream", args.dns_upstream])
    ready = asyncio.Event()

    async def main() -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(serve(options, ready))
            await ready.wait()
            print(f"Kybernetes is ready. kubeconfig: {options.kubeconfig}  (try: kyb kubectl get all -A)",
                  flush=True)

    return _run(main())


def cmd_controller_manager(args: argparse.Namespace) -> int:
    from kybernetes.controllers.manager import run

    _setup_logging(args.verbose)
    enabled = args.controllers.split(",") if args.controllers else None
    return _run(run(Path(args.kubeconfig), enabled=enabled, options=_options(args.option)))


def _options(pairs: list[str] | None) -> dict[str, Any]:
    """``key=value`` tuning options; numbers become floats."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, _, value = pair.partition("=")
        try:
            out[key] = float(value)
        except ValueError:
            out[key] = value
    return out


def cmd_scheduler(args: argparse.Namespace) -> int:
    from kybernetes.scheduler.server import run

    _setup_logging(args.verbose)
    return _run(run(Path(args.kubeconfig)))


def cmd_agent(args: argparse.Namespace) -> int:
    _setup_logging(args.verbose)
    # the agent forks helpers (CNI, nft, mounts) while gRPC threads run; grpc's fork handlers only add noise
    os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
    if args.simulate:
        from kybernetes.agent.simulated import run

        return _run(run(Path(args.kubeconfig), args.simulate, prefix=args.node_prefix))
    from kybernetes.agent.node import AgentOptions
    from kybernetes.agent.node import run as run_node

    options = AgentOptions(
        kubeconfig=Path(args.kubeconfig), data_dir=Path(args.data_dir), node_name=args.node_name,
        node_ip=args.node_ip, kubelet_port=args.kubelet_port,
        serving_cert=Path(args.kubelet_cert) if args.kubelet_cert else None,
        serving_key=Path(args.kubelet_key) if args.kubelet_key else None,
        client_ca=Path(args.client_ca) if args.client_ca else None, cleanup=args.cleanup,
        dns_upstream=args.dns_upstream)
    return _run(run_node(options))


def cmd_proxy(args: argparse.Namespace) -> int:
    """``kyb proxy``: only the service proxy of a node (no kubelet, no DNS)."""
    from kybernetes.proxy.cli import run_proxy

    _setup_logging(args.verbose)
    return _run(run_proxy(Path(args.kubeconfig), Path(args.data_dir), args.node_name, args.node_ip,
                          args.cluster_cidr, cleanup=args.cleanup))


def cmd_kubectl(argv: list[str]) -> int:
    data_dir = DEFAULT_DATA_DIR
    if len(argv) >= 2 and argv[0] == "--data-dir":
        data_dir, argv = Path(argv[1]), argv[2:]
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        print("kyb kubectl: kubectl is not on PATH", file=sys.stderr)
        return 127
    env = dict(os.environ)
    env.setdefault("KUBECONFIG", str(data_dir / "kubeconfig.yaml"))
    os.execve(kubectl, [kubectl, *argv], env)
    return 0  # not reached


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "kubectl":
        return cmd_kubectl(argv[1:])
    parser = argparse.ArgumentParser(prog="kyb", description="Kybernetes: a small, real Kubernetes in Python")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("server", help="run a whole single-node cluster")
    _add_apiserver_flags(p)
    p.add_argument("--no-agent", action="store_true", help="control plane only")
    p.add_argument("--simulated-nodes", type=int, default=0, help="run N simulated nodes (like kwok)")
    p.add_argument("--controller-option", action="append", metavar="KEY=VALUE",
                   help="passed to the controller manager as --option (repeatable)")
    p.add_argument("--cleanup", action="store_true", help="stop containers and remove rules on exit")
    p.add_argument("--lb-pool", default="", metavar="CIDR",
                   help="LoadBalancer addresses from this pool (e.g. 127.0.100.0/24); default: the node's IPs")
    p.add_argument("--dns-upstream", default="", metavar="IP[:PORT]",
                   help="cluster DNS forwards names outside the cluster here (default: never forwards)")
    p.set_defaults(func=cmd_server)
    p = sub.add_parser("apiserver", help="run the API server alone")
    _add_apiserver_flags(p)
    p.set_defaults(func=cmd_apiserver)
    sub.add_parser("kubectl", help="the real kubectl with the cluster's kubeconfig")
    p = sub.add_parser("controller-manager", help="run the controllers (leader-elected)")
    p.add_argument("--kubeconfig", required=True)
    p.add_argument("--controllers", default="", help="comma-separated names (default: all)")
    p.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="controller tuning, e.g. node_monitor_grace_period=40 (repeatable)")
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=cmd_controller_manager)
    p = sub.add_parser("scheduler", help="run the scheduler (leader-elected)")
    p.add_argument("--kubeconfig", required=True)
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=cmd_scheduler)
    p = sub.add_parser("agent", help="run a node agent, or N simulated nodes")
    p.add_argument("--kubeconfig", required=True)
    p.add_argument("--simulate", type=int, default=0, metavar="N")
    p.add_argument("--node-prefix", default="kyb-sim")
    p.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR / "agent"), help="containerd, images, pod data")
    p.add_argument("--node-name", default="", help="default: the host name")
    p.add_argument("--node-ip", default="", help="InternalIP (default: the default-route interface's)")
    p.add_argument("--kubelet-port", type=int, default=10250)
    p.add_argument("--kubelet-cert", default="", help="serving certificate for the kubelet API")
    p.add_argument("--kubelet-key", default="")
    p.add_argument("--client-ca", default="", help="CA that signs the API server's kubelet client certificate")
    p.add_argument("--cleanup", action="store_true", help="on exit remove pods, rules, routes and bridges")
    p.add_argument("--dns-upstream", default="", metavar="IP[:PORT]",
                   help="cluster DNS forwards names outside the cluster here (default: never forwards)")
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=cmd_agent)
    p = sub.add_parser("proxy", help="run only the service proxy of this node")
    p.add_argument("--kubeconfig", required=True)
    p.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR / "proxy"), help="proxy state (recorded sysctls)")
    p.add_argument("--node-name", default="", help="default: the host name")
    p.add_argument("--node-ip", default="", help="the node's address for the kubernetes Service endpoint")
    p.add_argument("--cluster-cidr", default="10.42.0.0/16")
    p.add_argument("--cleanup", action="store_true", help="on exit remove the proxy's rules")
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=cmd_proxy)
    from kybernetes.cli import image as image_cli
    image_cli.add_parser(sub, DEFAULT_DATA_DIR)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
