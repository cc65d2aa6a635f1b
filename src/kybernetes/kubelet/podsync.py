"""The executor: carries out :func:`runtime.compute_pod_actions` against the CRI, and terminates/cleans up pods.

``sync_pod`` is one pass of upstream's SyncPod (volumes → cgroups → kill → sandbox → init container /
containers, with images, env, mounts, back-off and hooks), then a status update.  ``terminate_pod`` stops the
containers (preStop, SIGTERM, grace, SIGKILL via StopContainer's timeout) and the sandbox; ``cleanup_pod``
removes containers, sandboxes, volumes, cgroups and the pod directory.  Events go through ``record``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kybernetes.kubelet import labels as lb
from kybernetes.kubelet.backoff import Backoff
from kybernetes.kubelet.cgroups import CgroupManager, pod_cgroup_name, pod_limits, qos_class
from kybernetes.kubelet.cri.types import ContainerState, ContainerStatus, CRIError, RuntimeService, SandboxStatus
from kybernetes.kubelet.env import EnvError, expand_command, make_env
from kybernetes.kubelet.images import ImageManager, ImagePullError
from kybernetes.kubelet.lifecycle import grace_period, run_hook, termination_message
from kybernetes.kubelet.podconfig import NodeConfig, container_config, extra_mounts, hosts_file, sandbox_config
from kybernetes.kubelet.probes import ProbeManager, Target
from kybernetes.kubelet.runtime import RuntimePod, compute_pod_actions
from kybernetes.kubelet.status import PodKnowledge, StatusManager, generate_status
from kybernetes.kubelet.volumes import VolumeError, VolumeManager

log = logging.getLogger(__name__)
Obj = dict[str, Any]
Recorder = Callable[[Obj, str, str, str], None]
Getter = Callable[[str, str], Awaitable[Obj | None]]


def pod_full_name(pod: Obj) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('name', '')}_{meta.get('namespace', '')}({meta.get('uid', '')})"


@dataclass
class SyncResult:
    terminal: bool = False  # phase Succeeded/Failed: the pod worker moves to terminating
    requeue_after: float | None = None


@dataclass
class SyncDeps:
    runtime: RuntimeService
    images: ImageManager
    volumes: VolumeManager
    probes: ProbeManager
    status: StatusManager
    record: Recorder
    configmaps: Getter
    secrets: Getter
    data_dir: Path
    log_dir: Path
    host_ip: str = "127.0.0.1"
    node: NodeConfig = field(default_factory=NodeConfig)
    cgroups: CgroupManager | None = None
    services: Callable[[str], list[Obj]] = lambda namespace: []
    allocatable: dict[str, str] = field(default_factory=dict)


class PodSyncer:
    def __init__(self, deps: SyncDeps) -> None:
        self.d = deps
        self.backoff = Backoff()
        self.knowledge: dict[str, PodKnowledge] = {}

    # -- runtime view ---------------------------------------------------------------------------------

    async def runtime_pod(self, uid: str) -> RuntimePod:
        rt = RuntimePod(uid)
        sandboxes = await self.d.runtime.list_pod_sandboxes({lb.POD_UID: uid})
        for sb in sorted(sandboxes, key=lambda s: s.created_at, reverse=True):
            with contextlib.suppress(CRIError):
                rt.sandboxes.append(await self.d.runtime.pod_sandbox_status(sb.id))
        containers = await self.d.runtime.list_containers(labels={lb.POD_UID: uid})
        for c in sorted(containers, key=lambda c: (c.created_at, c.attempt), reverse=True):
            with contextlib.suppress(CRIError):
                rt.containers.append(await self.d.runtime.container_status(c.id))
        return rt

    def pod_dir(self, uid: str) -> Path:
        return self.d.data_dir / "pods" / uid

    def log_directory(self, pod: Obj) -> Path:
        meta = pod.get("metadata") or {}
        return self.d.log_dir / f"{meta.get('namespace', '')}_{meta.get('name', '')}_{meta.get('uid', '')}"

    def _termination_file(self, uid: str, name: str, restart: int) -> Path:
        return self.pod_dir(uid) / "containers" / name / f"termination-{restart}"

    # -- sync -----------------------------------------------------------------------------------------

    async def sync_pod(self, pod: Obj) -> SyncResult:
        uid = (pod.get("metadata") or {}).get("uid", "")
        know = self.knowledge.setdefault(uid, PodKnowledge())
        result = SyncResult()
        rt = await self.runtime_pod(uid)
        volume_paths = await self._setup_volumes(pod, result)
        if volume_paths is None:
            await self.update_status(pod, rt)
            return result
        qos = qos_class(pod)
        cgroup_parent = pod_cgroup_name(uid, qos)
        if self.d.cgroups is not None:
            cgroup_parent = await asyncio.to_thread(self.d.cgroups.ensure_pod, uid, qos, pod_limits(pod))
        actions = compute_pod_actions(pod, rt, unhealthy=self.d.probes.unhealthy(uid))
        if actions.kill_pod:
            await self._kill_running(pod, rt, grace_period(pod))
            for sb in rt.sandboxes:
                if sb.state.name == "READY":
                    await self.d.runtime.stop_pod_sandbox(sb.id)
        for cid, (name, message) in actions.containers_to_kill.items():
            await self._kill_container(pod, cid, name, message, grace_period(pod))
            self.d.probes.container_restarted(uid, name)
        sandbox_id = actions.sandbox_id
        if actions.create_sandbox:
            if actions.attempt > 0:
                self.d.record(pod, "Normal", "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.")
            config = sandbox_config(pod, attempt=actions.attempt, log_directory=str(self.log_directory(pod)),
                                    cgroup_parent=cgroup_parent, node=self.d.node)
            try:
                await asyncio.to_thread(self.log_directory(pod).mkdir, parents=True, exist_ok=True)
                sandbox_id = await self.d.runtime.run_pod_sandbox(config)
            except CRIError as exc:
                self.d.record(pod, "Warning", "FailedCreatePodSandBox",
                              f"Failed to create pod sandbox: {exc.message}")
                result.requeue_after = 2.0
                await self.update_status(pod, await self.runtime_pod(uid))
                return result
            rt = await self.runtime_pod(uid)
        elif actions.kill_pod:
            rt = await self.runtime_pod(uid)
        sandbox = next((s for s in rt.sandboxes if s.id == sandbox_id), None)
        if sandbox is not None and sandbox.state.name == "READY":
            know.sandbox_ready = True
            know.pod_ip = sandbox.ip
            know.pod_ips = [ip for ip in [sandbox.ip, *sandbox.additional_ips] if ip]
            hosts = self.pod_dir(uid) / "etc-hosts"
            hosts.parent.mkdir(parents=True, exist_ok=True)
            hosts.write_text(hosts_file(pod, know.pod_ips))
            to_start = [(actions.next_init, True)] if actions.next_init else []
            to_start += [(name, False) for name in actions.containers_to_start]
            for name, init in to_start:
                container = self._spec(pod, name, init)
                if container is not None:
                    await self._start(pod, sandbox, rt, container, init, volume_paths, result)
            if to_start:
                rt = await self.runtime_pod(uid)
        else:
            know.sandbox_ready = False
        self._update_probes(pod, rt, know)
        status = await self.update_status(pod, rt)
        result.terminal = status.get("phase") in ("Succeeded", "Failed")
        return result

    async def _setup_volumes(self, pod: Obj, result: SyncResult) -> dict[str, Path] | None:
        try:
            return await self.d.volumes.setup(pod)
        except VolumeError as exc:
            self.d.record(pod, "Warning", "FailedMount", str(exc))
            result.requeue_after = 2.0
            return None

    @staticmethod
    def _spec(pod: Obj, name: str, init: bool) -> Obj | None:
        key = "initContainers" if init else "containers"
        return next((c for c in (pod.get("spec") or {}).get(key) or [] if c.get("name") == name), None)

    async def _start(self, pod: Obj, sandbox: SandboxStatus, rt: RuntimePod, container: Obj, init: bool,
                     volume_paths: dict[str, Path], result: SyncResult) -> None:
        meta = pod.get("metadata") or {}
        uid = meta.get("uid", "")
        name = container.get("name", "")
        know = self.knowledge[uid]
        latest = rt.latest(name, init=init)
        restart = lb.restart_count(latest.annotations) + 1 if latest is not None else 0
        key = f"{pod_full_name(pod)}_{name}"
        if latest is not None and latest.state == ContainerState.EXITED:
            finished = latest.finished_at / 1e9 if latest.finished_at else time.time()
            if self.backoff.in_backoff_since(key, finished):
                delay = self.backoff.get(key)
                know.waiting[name] = ("CrashLoopBackOff", f"back-off {int(delay)}s restarting failed "
                                                          f"container={name} pod={pod_full_name(pod)}")
                self.d.record(pod, "Warning", "BackOff",
                              f"Back-off restarting failed container {name} in pod {pod_full_name(pod)}")
                remaining = self.backoff.remaining(key, finished)
                result.requeue_after = min(result.requeue_after or remaining, remaining) + 0.05
                return
            self.backoff.next(key, finished)

        def record(kind: str, reason: str, message: str) -> None:
            self.d.record(pod, kind, reason, message)

        try:
            image = await self.d.images.ensure(uid, container, record)
        except ImagePullError as exc:
            know.waiting[name] = (exc.reason, exc.message)
            result.requeue_after = 1.0
            return
        try:
            envs = await make_env(pod, container, configmaps=self.d.configmaps, secrets=self.d.secrets,
                                  services=self._service_list(pod), allocatable=self.d.allocatable)
        except EnvError as exc:
            know.waiting[name] = ("CreateContainerConfigError", str(exc))
            self.d.record(pod, "Warning", "Failed", f"Error: {exc}")
            result.requeue_after = 2.0
            return
        command, args = expand_command(container, envs)
        term_file = self._termination_file(uid, name, restart)
        term_file.parent.mkdir(parents=True, exist_ok=True)
        term_file.touch(mode=0o666)
        hostnet = bool((pod.get("spec") or {}).get("hostNetwork"))
        mounts = self.d.volumes.container_mounts(container, volume_paths)
        mounts += extra_mounts(pod, container, None if hostnet else self.pod_dir(uid) / "etc-hosts", term_file)
        config = container_config(pod, container, restart_count=restart, image=image, command=command, args=args,
                                  envs=envs, mounts=mounts, qos=qos_class(pod), init=init,
                                  memory_capacity=self.d.node.memory_capacity)
        sb_config = sandbox_config(pod, attempt=sandbox.attempt, log_directory=str(self.log_directory(pod)),
                                   cgroup_parent=pod_cgroup_name(uid, qos_class(pod)), node=self.d.node)
        await self._gc_dead(rt, name, keep=latest)
        try:
            cid = await self.d.runtime.create_container(sandbox.id, config, sb_config)
        except CRIError as exc:
            know.waiting[name] = ("CreateContainerError", exc.message)
            self.d.record(pod, "Warning", "Failed", f"Error: {exc.message}")
            result.requeue_after = 2.0
            return
        self.d.record(pod, "Normal", "Created", f"Created container: {name}")
        try:
            await self.d.runtime.start_container(cid)
        except CRIError as exc:
            know.waiting[name] = ("RunContainerError", exc.message)
            self.d.record(pod, "Warning", "Failed", f"Error: {exc.message}")
            result.requeue_after = 2.0
            return
        know.waiting.pop(name, None)
        self.d.record(pod, "Normal", "Started", f"Started container {name}")
        post_start = (container.get("lifecycle") or {}).get("postStart")
        if post_start:
            target = Target(pod, container, cid, know.pod_ips)
            ok, message = await run_hook(post_start, target, self.d.runtime, float(grace_period(pod)))
            if not ok:
                self.d.record(pod, "Warning", "FailedPostStartHook", message or "PostStartHook failed")
                await self._kill_container(pod, cid, name, f"FailedPostStartHook: {message}", grace_period(pod))

    def _service_list(self, pod: Obj) -> list[Obj]:
        spec = pod.get("spec") or {}
        namespace = (pod.get("metadata") or {}).get("namespace", "")
        services = [s for s in self.d.services("default") if (s.get("metadata") or {}).get("name") == "kubernetes"]
        if spec.get("enableServiceLinks", True):
            services = [*self.d.services(namespace), *services] if namespace != "default" \
                else self.d.services(namespace)
        return services

    async def _gc_dead(self, rt: RuntimePod, name: str, keep: ContainerStatus | None) -> None:
        """Remove dead instances of ``name`` except ``keep`` (the one whose state becomes ``lastState``)."""
        for c in rt.containers:
            if c.name == name and c.state != ContainerState.RUNNING and (keep is None or c.id != keep.id):
                with contextlib.suppress(CRIError):
                    await self.d.runtime.remove_container(c.id)

    def _update_probes(self, pod: Obj, rt: RuntimePod, know: PodKnowledge) -> None:
        uid = (pod.get("metadata") or {}).get("uid", "")
        targets: dict[str, Target] = {}
        for container in (pod.get("spec") or {}).get("containers") or []:
            latest = rt.latest(container.get("name", ""), init=False)
            if latest is not None and latest.state == ContainerState.RUNNING:
                targets[container["name"]] = Target(pod, container, latest.id, know.pod_ips)
        self.d.probes.update(uid, targets)
        for name in targets:
            know.ready[name] = self.d.probes.ready(uid, name, targets[name].container)
            know.started[name] = self.d.probes.started(uid, name, targets[name].container)

    async def update_status(self, pod: Obj, rt: RuntimePod) -> Obj:
        uid = (pod.get("metadata") or {}).get("uid", "")
        know = self.knowledge.setdefault(uid, PodKnowledge())
        self._termination_messages(pod, rt, know)
        status = generate_status(pod, rt, know, host_ip=self.d.host_ip, now=time.time())
        await self.d.status.set_status(pod, status, time.time())
        return status

    def _termination_messages(self, pod: Obj, rt: RuntimePod, know: PodKnowledge) -> None:
        uid = (pod.get("metadata") or {}).get("uid", "")
        spec = pod.get("spec") or {}
        by_name = {c.get("name"): c for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]}
        for c in rt.containers:
            if c.state != ContainerState.EXITED or c.id in know.messages:
                continue
            container = by_name.get(c.name, {})
            log_file = Path(c.log_path) if c.log_path else None
            know.messages[c.id] = termination_message(
                container, c.exit_code, self._termination_file(uid, c.name, lb.restart_count(c.annotations)),
                log_file)

    # -- termination ----------------------------------------------------------------------------------

    async def _kill_container(self, pod: Obj, cid: str, name: str, message: str, grace: int) -> None:
        container = self._spec(pod, name, False) or self._spec(pod, name, True) or {}
        pre_stop = (container.get("lifecycle") or {}).get("preStop")
        self.d.record(pod, "Normal", "Killing", message)
        start = time.monotonic()
        if pre_stop:
            know = self.knowledge.get((pod.get("metadata") or {}).get("uid", ""), PodKnowledge())
            try:
                ok, out = await asyncio.wait_for(
                    run_hook(pre_stop, Target(pod, container, cid, know.pod_ips), self.d.runtime, grace), grace)
            except TimeoutError:
                ok, out = False, "PreStopHook timed out"
            if not ok:
                self.d.record(pod, "Warning", "FailedPreStopHook", f"PreStopHook failed: {out}".strip())
        remaining = max(2, int(grace - (time.monotonic() - start)))
        try:
            await self.d.runtime.stop_container(cid, remaining)
        except CRIError as exc:
            if exc.code != "NOT_FOUND":
                log.warning("stop container %s: %s", cid, exc)

    async def _kill_running(self, pod: Obj, rt: RuntimePod, grace: int) -> None:
        running = [c for c in rt.containers if c.state in (ContainerState.RUNNING, ContainerState.CREATED)]
        await asyncio.gather(*(self._kill_container(pod, c.id, c.name, f"Stopping container {c.name}", grace)
                               for c in running))

    async def terminate_pod(self, pod: Obj, grace: int | None = None) -> None:
        """Stop every container (preStop, SIGTERM, grace, SIGKILL) and the sandboxes; update the status."""
        uid = (pod.get("metadata") or {}).get("uid", "")
        know = self.knowledge.setdefault(uid, PodKnowledge())
        know.terminating = True
        rt = await self.runtime_pod(uid)
        await self._kill_running(pod, rt, grace if grace is not None else grace_period(pod))
        for sb in rt.sandboxes:
            with contextlib.suppress(CRIError):
                await self.d.runtime.stop_pod_sandbox(sb.id)
        self.d.probes.remove_pod(uid)
        rt = await self.runtime_pod(uid)
        know.sandbox_ready = False
        await self.update_status(pod, rt)

    async def cleanup_pod(self, uid: str) -> None:
        """Remove containers, sandboxes, volumes, cgroups and the pod's directories."""
        for c in await self.d.runtime.list_containers(labels={lb.POD_UID: uid}):
            with contextlib.suppress(CRIError):
                await self.d.runtime.stop_container(c.id, 2)
                await self.d.runtime.remove_container(c.id)
        for sb in await self.d.runtime.list_pod_sandboxes({lb.POD_UID: uid}):
            with contextlib.suppress(CRIError):
                await self.d.runtime.stop_pod_sandbox(sb.id)
            with contextlib.suppress(CRIError):
                await self.d.runtime.remove_pod_sandbox(sb.id)
        self.d.probes.remove_pod(uid)
        await self.d.volumes.teardown(uid)
        if self.d.cgroups is not None:
            await asyncio.to_thread(self.d.cgroups.remove_pod, uid)
        await asyncio.to_thread(shutil.rmtree, self.pod_dir(uid), True)
        for entry in self.d.log_dir.glob(f"*_{uid}"):
            await asyncio.to_thread(shutil.rmtree, entry, True)
        self.knowledge.pop(uid, None)
        self.d.status.forget(uid)
