"""Pure parts of kybernetes.agent.registry: image references, registry paths, config, manifest sizes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kybernetes.agent.registry import (
    ImageReference,
    RegistryError,
    default_address,
    manifest_size,
    parse_reference,
    pull_name,
    read_address,
    registry_config,
    registry_repository,
)


@pytest.mark.parametrize(("ref", "want"), [
    ("nginx", ImageReference("docker.io", "library/nginx", "latest", None)),
    ("nginx:1.27", ImageReference("docker.io", "library/nginx", "1.27", None)),
    ("library/nginx:1.27", ImageReference("docker.io", "library/nginx", "1.27", None)),
    ("docker.io/nginx", ImageReference("docker.io", "library/nginx", "latest", None)),
    ("index.docker.io/library/busybox:1.36", ImageReference("docker.io", "library/busybox", "1.36", None)),
    ("team/app:v1", ImageReference("docker.io", "team/app", "v1", None)),
    ("registry.k8s.io/pause:3.10", ImageReference("registry.k8s.io", "pause", "3.10", None)),
    ("localhost:5000/x/y:z", ImageReference("localhost:5000", "x/y", "z", None)),
    ("127.0.0.1:5000/app", ImageReference("127.0.0.1:5000", "app", "latest", None)),
    ("localhost/app", ImageReference("localhost", "app", "latest", None)),
    ("nginx@sha256:abc", ImageReference("docker.io", "library/nginx", None, "sha256:abc")),
    ("nginx:1@sha256:abc", ImageReference("docker.io", "library/nginx", "1", "sha256:abc")),
])
def test_parse_reference(ref: str, want: ImageReference) -> None:
    assert parse_reference(ref) == want


@pytest.mark.parametrize("ref", ["", " ", "nginx:", "/nginx", "nginx/", "Nginx", "a b", "x//y", "nginx@"])
def test_parse_reference_rejects(ref: str) -> None:
    with pytest.raises(ValueError):
        parse_reference(ref)


def test_reference_str() -> None:
    assert str(parse_reference("nginx")) == "docker.io/library/nginx:latest"
    assert str(parse_reference("nginx@sha256:abc")) == "docker.io/library/nginx@sha256:abc"


@pytest.mark.parametrize(("ref", "want"), [
    ("nginx:1.27", ("library/nginx", "1.27")),
    ("docker.io/library/myweb:v1", ("library/myweb", "v1")),
    ("registry.k8s.io/pause:3.6", ("pause", "3.6")),
    ("example.com/team/box", ("team/box", "latest")),
    ("busybox@sha256:abc", ("library/busybox", "latest")),
])
def test_registry_repository(ref: str, want: tuple[str, str]) -> None:
    assert registry_repository(ref) == want


@pytest.mark.parametrize(("repo", "tag", "want"), [
    ("library/nginx", "latest", "docker.io/library/nginx:latest"),
    ("team/box", "v2", "docker.io/team/box:v2"),
    ("pause", "3.6", "registry.k8s.io/pause:3.6"),
])
def test_pull_name(repo: str, tag: str, want: str) -> None:
    assert pull_name(repo, tag) == want


@pytest.mark.parametrize(("manifest", "want"), [
    ({"config": {"size": 10}, "layers": [{"size": 100}, {"size": 1000}]}, 1110),
    ({"layers": []}, 0),
    ({"manifests": [{"size": 5}, {"size": 7}]}, 12),
])
def test_manifest_size(manifest: dict[str, object], want: int) -> None:
    assert manifest_size(manifest) == want


def test_registry_config_is_loopback_filesystem(tmp_path: Path) -> None:
    config = json.loads(registry_config(tmp_path / "data", "127.0.0.1:5000", "s3cret"))
    assert config["http"] == {"addr": "127.0.0.1:5000", "secret": "s3cret"}
    assert config["storage"]["filesystem"]["rootdirectory"] == str(tmp_path / "data")
    assert config["version"] == 0.1


def test_default_address(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KYB_REGISTRY", raising=False)
    with pytest.raises(RegistryError):
        default_address(tmp_path)
    (tmp_path / "agent/registry").mkdir(parents=True)
    (tmp_path / "agent/registry/address").write_text("127.0.0.1:5001\n")
    assert default_address(tmp_path) == "127.0.0.1:5001"  # the agent inside `kyb server`
    (tmp_path / "registry").mkdir()
    (tmp_path / "registry/address").write_text("127.0.0.1:5000\n")
    assert read_address(tmp_path) == "127.0.0.1:5000"
    assert default_address(tmp_path) == "127.0.0.1:5000"
    monkeypatch.setenv("KYB_REGISTRY", "127.0.0.1:6000")
    assert default_address(tmp_path) == "127.0.0.1:6000"
