"""Persistent storage on a whole ``kyb server`` (real containers, root): the seed's PV/PVC/pod example with the real
kubectl, the ``local-path`` provisioner (size enforced by a loop-mounted ext4 image), reclaim Delete/Retain,
pvc-protection and WaitForFirstConsumer.  One server for the module, stopped with ``--cleanup``; the host is checked
for leftover loop mounts of its data dir."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.root, pytest.mark.kubectl]

ROOT = Path(__file__).parents[2]
KYB = ROOT / ".venv" / "bin" / "kyb"
Kubectl = Callable[..., str]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _loop_mounts(prefix: str) -> list[str]:
    return [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines() if line.split()[1].startswith(
        prefix)]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    d = tmp_path_factory.mktemp("storage")
    log = open(d / "server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([str(KYB), "server", "--data-dir", str(d / "data"), "--https-port", str(_free_port()),
                             "--cleanup"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        kubeconfig = d / "data" / "kubeconfig.yaml"
        deadline = time.monotonic() + 90
        while not (kubeconfig.exists() and b"ready" in (d / "server.log").read_bytes()):
            assert proc.poll() is None, (d / "server.log").read_text()
            assert time.monotonic() < deadline, "kyb server did not start"
            time.sleep(0.5)
        yield d / "data"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        leftovers = _loop_mounts(str(d))
        for m in leftovers:
            subprocess.run(["umount", m], check=False)
        assert not leftovers, f"loop mounts left behind: {leftovers}"


@pytest.fixture(scope="module")
def k(data_dir: Path) -> Kubectl:
    env = {**os.environ, "KUBECONFIG": str(data_dir / "kubeconfig.yaml")}

    def run(*args: str, input: str | None = None, check: bool = True) -> str:
        out = subprocess.run(["kubectl", *args], input=input, capture_output=True, text=True, env=env, timeout=120)
        if check and out.returncode:
            raise AssertionError(f"kubectl {' '.join(args)}: {out.stderr}{out.stdout}")
        return out.stdout + out.stderr

    deadline = time.monotonic() + 60
    while " Ready " not in run("get", "nodes", check=False):
        assert time.monotonic() < deadline, "node not Ready"
        time.sleep(1)
    return run


def eventually(fn: Callable[[], str], pattern: str, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    out = ""
    while time.monotonic() < deadline:
        out = fn()
        if re.search(pattern, out, re.M):
            return out
        time.sleep(1)
    raise AssertionError(f"{pattern!r} never matched:\n{out}")


def columns(out: str, name: str) -> list[str]:
    line = next(ln for ln in out.splitlines() if ln.startswith(name + " "))
    return line.split()


SEED_PVC = """apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: pv-claim
spec:
  storageClassName: manual
  accessModes:
    - ReadWriteOnce
  resources:
    requests:
      storage: 1Gi
"""
SEED_POD = """apiVersion: v1
kind: Pod
metadata:
  name: volume-test
  namespace: default
spec:
  containers:
  - name: centos
    image: busybox
    command: ["/bin/sh"]
    args: ["-c", "while true; do echo 'storage write' >>/tmp/file && cat /tmp/file; sleep 5; done"]
    volumeMounts:
      - name: pv-volume
        mountPath: /tmp
  volumes:
    - name: pv-volume
      persistentVolumeClaim:
        claimName: pv-claim
"""


def claim(name: str, size: str, cls: str | None = None) -> str:
    cls_line = f"  storageClassName: {cls}\n" if cls else ""
    return (f"apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: {name}\nspec:\n{cls_line}"
            f"  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: {size}\n")


def pod(name: str, claim_name: str, script: str) -> str:
    return f"""apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    command: ["/bin/sh", "-c", {script!r}]
    volumeMounts:
    - {{name: d, mountPath: /data}}
  volumes:
  - name: d
    persistentVolumeClaim: {{claimName: {claim_name}}}
"""


def test_seed_volume_example(k: Kubectl, tmp_path: Path) -> None:
    host = tmp_path / "seed-pv"
    host.mkdir()
    pv = SEED_PV.replace("HOSTDIR", str(host))
    assert "persistentvolume/pv-volume created" in k("apply", "-f", "-", input=pv)
    assert "persistentvolumeclaim/pv-claim created" in k("apply", "-f", "-", input=SEED_PVC)
    assert "pod/volume-test created" in k("apply", "-f", "-", input=SEED_POD)
    out = eventually(lambda: k("get", "pv"), r"^pv-volume .*Bound")
    assert columns(out, "pv-volume")[:7] == ["pv-volume", "1Gi", "RWO", "Retain", "Bound", "default/pv-claim",
                                             "manual"]
    out = eventually(lambda: k("get", "pvc"), r"^pv-claim +Bound")
    assert columns(out, "pv-claim")[:6] == ["pv-claim", "Bound", "pv-volume", "1Gi", "RWO", "manual"]
    eventually(lambda: k("get", "pods"), r"^volume-test +1/1 +Running")
    eventually(lambda: k("logs", "volume-test", check=False), "storage write")
    eventually(lambda: (host / "file").read_text() if (host / "file").exists() else "", "storage write")
    assert re.search(r"ClaimName: +pv-claim[\s\S]*Scheduled[\s\S]*Created[\s\S]*Started",
                     k("describe", "pod", "volume-test"))
    assert 'pod "volume-test" deleted' in k("delete", "pod", "volume-test", "--grace-period=1")
    started = time.monotonic()
    assert 'persistentvolumeclaim "pv-claim" deleted' in k("delete", "pvc", "pv-claim")
    assert 'persistentvolume "pv-volume" deleted' in k("delete", "pv", "pv-volume")
    assert time.monotonic() - started < 10
    assert "storage write" in (host / "file").read_text()


SEED_PV = """apiVersion: v1
kind: PersistentVolume
metadata:
  name: pv-volume
  labels:
    type: local
spec:
  storageClassName: manual
  capacity:
    storage: 1Gi
  accessModes:
    - ReadWriteOnce
  hostPath:
    path: "HOSTDIR"
"""


def test_local_path_wffc_replacement_and_delete(k: Kubectl, data_dir: Path) -> None:
    k("apply", "-f", "-", input=claim("data", "16Mi"))
    assert k("get", "pvc", "data", "-o", "jsonpath={.spec.storageClassName}") == "local-path"
    time.sleep(3)
    out = k("get", "pvc", "data")
    assert columns(out, "data")[1] == "Pending", out  # WaitForFirstConsumer: no pod, no binding
    assert "waiting for first consumer to be created before binding" in k("describe", "pvc", "data")
    k("apply", "-f", "-", input=pod("writer", "data", "echo kept > /data/f; dd if=/dev/zero of=/data/big bs=1M "
                                    "count=64; rm /data/big; sleep 3600"))
    eventually(lambda: k("get", "pvc", "data"), r"^data +Bound +pvc-.* +16Mi +RWO +local-path")
    logs = eventually(lambda: k("logs", "writer", check=False), "No space left on device")
    assert "No space left on device" in logs
    volume = k("get", "pvc", "data", "-o", "jsonpath={.spec.volumeName}")
    path = Path(k("get", "pv", volume, "-o", "jsonpath={.spec.hostPath.path}"))
    assert path.is_relative_to(data_dir) and _loop_mounts(str(path))
    # a PVC in use stays Terminating until its pod is gone
    k("delete", "pvc", "data", "--wait=false")
    time.sleep(3)
    assert columns(k("get", "pvc", "data"), "data")[1] == "Terminating"
    k("delete", "pod", "writer")
    eventually(lambda: k("get", "pvc", "--ignore-not-found"), r"\A\s*\Z")
    eventually(lambda: k("get", "pv", "--ignore-not-found"), r"\A\s*\Z")
    assert not path.exists() and not _loop_mounts(str(path))


def test_data_survives_pod_replacement(k: Kubectl) -> None:
    k("apply", "-f", "-", input=claim("keep", "16Mi"))
    k("apply", "-f", "-", input=pod("first", "keep", "echo from-first > /data/f; sleep 3600"))
    eventually(lambda: k("get", "pods"), r"^first +1/1 +Running")
    k("delete", "pod", "first")
    k("apply", "-f", "-", input=pod("second", "keep", "cat /data/f; sleep 3600"))
    eventually(lambda: k("logs", "second", check=False), "from-first")
    k("delete", "pod", "second")
    k("delete", "pvc", "keep")


def test_retain_keeps_directory_released(k: Kubectl) -> None:
    k("apply", "-f", "-", input="""apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local-retain
provisioner: rancher.io/local-path
reclaimPolicy: Retain
volumeBindingMode: WaitForFirstConsumer
""")
    k("apply", "-f", "-", input=claim("ret", "16Mi", "local-retain"))
    k("apply", "-f", "-", input=pod("ret-pod", "ret", "echo retained > /data/f; sleep 3600"))
    eventually(lambda: k("logs", "ret-pod", check=False) + k("get", "pods"), r"^ret-pod +1/1 +Running")
    volume = k("get", "pvc", "ret", "-o", "jsonpath={.spec.volumeName}")
    path = Path(k("get", "pv", volume, "-o", "jsonpath={.spec.hostPath.path}"))
    eventually(lambda: (path / "f").read_text() if (path / "f").exists() else "", "retained")
    k("delete", "pod", "ret-pod")
    k("delete", "pvc", "ret")
    out = eventually(lambda: k("get", "pv", volume), r"Released")
    assert columns(out, volume)[3:6] == ["Retain", "Released", "default/ret"]
    assert (path / "f").read_text() == "retained\n"
    k("delete", "pv", volume)
    k("delete", "storageclass", "local-retain")


def test_immediate_claim_without_volume_stays_pending(k: Kubectl) -> None:
    k("apply", "-f", "-", input=claim("nothing", "1Gi", "manual"))
    time.sleep(2)
    assert columns(k("get", "pvc", "nothing"), "nothing")[1] == "Pending"
    assert 'storageclass.storage.k8s.io "manual" not found' in k("describe", "pvc", "nothing")
    k("delete", "pvc", "nothing")
