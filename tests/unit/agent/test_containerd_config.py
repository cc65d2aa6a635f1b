"""containerd config generation (pure)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from kybernetes.agent.containerd import (
    ContainerdPaths,
    choose_state_dir,
    mirror_hosts,
    mounts_under,
    render_config,
    render_hosts_toml,
)


@pytest.mark.parametrize(("data_dir", "want"), [
    ("/var/lib/kybernetes", "/run/kybernetes/containerd"),
    ("/tmp/d", "/tmp/d/containerd/state"),
    ("/tmp/" + "x" * 80, "/run/kybernetes/containerd-"),  # socket path too long: hashed dir under /run
])
def test_choose_state_dir(data_dir: str, want: str) -> None:
    got = str(choose_state_dir(Path(data_dir)))
    assert got.startswith(want)
    assert len(got + "/containerd.sock.ttrpc") <= 104


def test_render_config() -> None:
    paths = ContainerdPaths.for_data_dir(Path("/data"))
    cfg = tomllib.loads(render_config(paths, stream_port=0))
    assert cfg["version"] == 2
    assert (cfg["root"], cfg["state"]) == ("/data/containerd/root", "/data/containerd/state")
    assert cfg["grpc"]["address"] == "/data/containerd/state/containerd.sock"
    cri = cfg["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["sandbox_image"] == "registry.k8s.io/pause:3.6"
    assert cri["restrict_oom_score_adj"] is True
    assert (cri["stream_server_address"], cri["stream_server_port"]) == ("127.0.0.1", "0")
    runc = cri["containerd"]["runtimes"]["runc"]
    assert runc["runtime_type"] == "io.containerd.runc.v2"
    assert runc["options"]["SystemdCgroup"] is False
    assert runc["options"]["Root"] == "/data/containerd/state/runc"
    assert cri["containerd"]["default_runtime_name"] == "runc"
    assert cri["cni"] == {"bin_dir": "/usr/lib/cni", "conf_dir": "/data/containerd/cni", "max_conf_num": 1}
    assert cri["registry"]["config_path"] == "/data/containerd/certs.d"
    assert "oom_score" not in cfg  # cannot be lowered without CAP_SYS_RESOURCE
    assert cfg["plugins"]["io.containerd.gc.v1.scheduler"] == {"pause_threshold": 0.0}  # a steady 1 s GC check


def test_hosts_toml_has_no_upstream_fallback() -> None:
    hosts = tomllib.loads(render_hosts_toml("127.0.0.1:5000"))
    assert hosts["server"] == "http://127.0.0.1:5000"
    assert list(hosts["host"]) == ["http://127.0.0.1:5000"]
    assert hosts["host"]["http://127.0.0.1:5000"]["capabilities"] == ["pull", "resolve"]
    assert sorted(mirror_hosts("127.0.0.1:5000")) == ["127.0.0.1:5000", "docker.io", "registry.k8s.io"]


def test_mounts_under() -> None:
    mountinfo = "\n".join([
        "22 1 0:21 / / rw - ext4 /dev/vda rw",
        "30 22 0:30 / /data/containerd/state/io.containerd.runtime.v2.task/k8s.io/abc/rootfs rw - overlay o rw",
        "31 22 0:31 / /data/containerd/state/io.containerd.grpc.v1.cri/sandboxes/abc/shm rw - tmpfs shm rw",
        "32 22 0:32 / /data/containerd/rootx rw - tmpfs t rw",
        "33 22 0:33 / /data/containerd/root/with\\040space rw - tmpfs t rw",
    ])
    got = mounts_under(mountinfo, [Path("/data/containerd/root"), Path("/data/containerd/state")])
    assert got == [
        "/data/containerd/state/io.containerd.grpc.v1.cri/sandboxes/abc/shm",  # deepest first, then by name
        "/data/containerd/state/io.containerd.runtime.v2.task/k8s.io/abc/rootfs",
        "/data/containerd/root/with space",
    ]
