"""Pure pod-action computation, like upstream's ``computePodActions``.

Input: the pod spec and what the runtime holds for it (:class:`RuntimePod`, newest first); output:
:class:`PodActions` — whether to (re)create the sandbox, kill the whole pod, which init container to start next,
which containers to start and which to kill (with the reason, for the ``Killing`` event).  No I/O here; the
executor (:mod:`kybernetes.kubelet.podsync`) carries the actions out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kybernetes.kubelet import labels as lb
from kybernetes.kubelet.cri.types import ContainerState, ContainerStatus, SandboxState, SandboxStatus

Obj = dict[str, Any]


@dataclass
class RuntimePod:
    """The runtime's view of one pod: sandboxes and containers, newest first."""

    uid: str
    sandboxes: list[SandboxStatus] = field(default_factory=list)
    containers: list[ContainerStatus] = field(default_factory=list)

    def latest(self, name: str, init: bool | None = None) -> ContainerStatus | None:
        for c in self.containers:
            if c.name == name and (init is None or (c.labels.get(lb.CONTAINER_TYPE) == lb.INIT) == init):
                return c
        return None

    def previous(self, name: str) -> ContainerStatus | None:
        """The instance before the latest one (its state becomes ``lastState``)."""
        found = [c for c in self.containers if c.name == name]
        return found[1] if len(found) > 1 else None

    def running_sandbox(self) -> SandboxStatus | None:
        for s in self.sandboxes:
            if s.state == SandboxState.READY:
                return s
        return None


@dataclass
class PodActions:
    kill_pod: bool = False
    create_sandbox: bool = False
    sandbox_id: str = ""
    attempt: int = 0
    next_init: str | None = None
    containers_to_start: list[str] = field(default_factory=list)
    containers_to_kill: dict[str, tuple[str, str]] = field(default_factory=dict)  # id → (name, message)
    init_failed: bool = False  # restartPolicy Never and an init container failed: the pod fails


def should_restart_on_failure(pod: Obj) -> bool:
    return bool((pod.get("spec") or {}).get("restartPolicy", "Always") != "Never")


def container_succeeded(status: ContainerStatus | None) -> bool:
    return status is not None and status.state == ContainerState.EXITED and status.exit_code == 0


def should_restart(pod: Obj, status: ContainerStatus | None) -> bool:
    """Upstream ShouldContainerBeRestarted."""
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    if status is None:
        return True
    if status.state == ContainerState.RUNNING:
        return False
    if status.state in (ContainerState.UNKNOWN, ContainerState.CREATED):
        return True
    policy = (pod.get("spec") or {}).get("restartPolicy", "Always")
    if policy == "Never":
        return False
    return not (policy == "OnFailure" and status.exit_code == 0)


def _sandbox_changed(pod: Obj, rt: RuntimePod) -> tuple[bool, int, str]:
    """(must create a sandbox, its attempt, the id of the usable sandbox)."""
    if not rt.sandboxes:
        return True, 0, ""
    ready = [s for s in rt.sandboxes if s.state == SandboxState.READY]
    newest = rt.sandboxes[0]
    if len(ready) > 1:
        return True, newest.attempt + 1, newest.id
    if newest.state != SandboxState.READY:
        return True, newest.attempt + 1, newest.id
    host_network = bool((pod.get("spec") or {}).get("hostNetwork"))
    if not host_network and not newest.ip:
        return True, newest.attempt + 1, newest.id
    return False, newest.attempt, newest.id


def _init_actions(pod: Obj, rt: RuntimePod, actions: PodActions) -> bool:
    """Fill the init-container part; True when all init containers completed."""
    for container in (pod.get("spec") or {}).get("initContainers") or []:
        name = container.get("name", "")
        status = rt.latest(name, init=True)
        if status is None or status.state in (ContainerState.CREATED, ContainerState.UNKNOWN):
            actions.next_init = name
            return False
        if status.state == ContainerState.RUNNING:
            return False
        if status.exit_code == 0:
            continue
        if should_restart_on_failure(pod):
            actions.next_init = name
        else:
            actions.init_failed = True
            actions.kill_pod = True
        return False
    return True


def compute_pod_actions(pod: Obj, rt: RuntimePod, *, unhealthy: dict[str, str] | None = None) -> PodActions:
    """What to do next for ``pod``.  ``unhealthy`` maps container name → message for containers whose liveness
    or startup probe failed (they are killed and, per restart policy, started again)."""
    unhealthy = unhealthy or {}
    spec = pod.get("spec") or {}
    containers = spec.get("containers") or []
    create, attempt, sandbox_id = _sandbox_changed(pod, rt)
    actions = PodActions(kill_pod=create, create_sandbox=create, sandbox_id=sandbox_id, attempt=attempt)
    if create:
        regular = [c for c in rt.containers if c.labels.get(lb.CONTAINER_TYPE) != lb.INIT]
        if not should_restart_on_failure(pod) and attempt != 0 and regular:
            actions.create_sandbox = False  # restartPolicy Never and everything ran: leave it dead
            return actions
        to_start = [c.get("name", "") for c in containers
                    if not (spec.get("restartPolicy") == "OnFailure" and container_succeeded(rt.latest(c["name"])))]
        if spec.get("initContainers"):
            actions.next_init = spec["initContainers"][0].get("name", "")
            return actions
        actions.containers_to_start = to_start
        return actions

    if not _init_actions(pod, rt, actions):
        return actions  # still initialising (or the pod failed)

    keep = 0
    for container in containers:
        name = container.get("name", "")
        status = rt.latest(name, init=False)
        if status is None or status.state != ContainerState.RUNNING:
            if should_restart(pod, status):
                actions.containers_to_start.append(name)
            continue
        if status.annotations.get(lb.HASH) not in (None, lb.container_hash(container)):
            message = f"Container {name} definition changed, will be restarted"
        elif name in unhealthy:
            message = unhealthy[name]
        else:
            keep += 1
            continue
        actions.containers_to_kill[status.id] = (name, message)
        if should_restart_on_failure(pod):
            actions.containers_to_start.append(name)
    known = {c.get("name") for c in containers}
    for status in rt.containers:
        if status.state == ContainerState.RUNNING and status.labels.get(lb.CONTAINER_TYPE) != lb.INIT \
                and status.name not in known:
            actions.containers_to_kill[status.id] = (status.name, f"Container {status.name} is not in the pod spec")
    if keep == 0 and not actions.containers_to_start:
        actions.kill_pod = True
    return actions
