"""Pure parts of `kyb image` (kybernetes.cli.image): archive inspection, target names, sizes."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from kybernetes.cli.image import ArchiveError, ArchiveImage, archive_images, human_size, oci_names, targets


def _tar(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_docker_archive(tmp_path: Path) -> None:
    manifest = [{"Config": "c.json", "RepoTags": ["docker.io/library/web:v1", "web:latest"], "Layers": ["a", "b"]},
                {"Config": "d.json", "RepoTags": None, "Layers": ["c"]}]
    path = _tar(tmp_path / "a.tar", {"manifest.json": json.dumps(manifest).encode()})
    assert archive_images(path) == [
        ArchiveImage(f"docker-archive:{path}:docker.io/library/web:v1", ("docker.io/library/web:v1",), 2),
        ArchiveImage(f"docker-archive:{path}:web:latest", ("web:latest",), 2),
        ArchiveImage(f"docker-archive:{path}@1", (), 1),
    ]


def test_oci_archive(tmp_path: Path) -> None:
    index = {"manifests": [
        {"digest": "sha256:aa", "annotations": {"org.opencontainers.image.ref.name": "box:v2"}},
        {"digest": "sha256:bb", "annotations": {"org.opencontainers.image.ref.name": "v3",
                                                "io.containerd.image.name": "docker.io/library/box:v3"}},
        {"digest": "sha256:cc"},
    ]}
    path = _tar(tmp_path / "o.tar", {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}',
                                     "index.json": json.dumps(index).encode(),
                                     "blobs/sha256/aa": json.dumps({"layers": [{}, {}, {}]}).encode()})
    assert archive_images(path) == [
        ArchiveImage(f"oci-archive:{path}:box:v2", ("box:v2",), 3),
        ArchiveImage(f"oci-archive:{path}:v3", ("docker.io/library/box:v3",), 1),
        ArchiveImage(f"oci-archive:{path}", (), 1),
    ]


def test_not_an_archive(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("hello")
    with pytest.raises(ArchiveError):
        archive_images(tmp_path / "x")
    with pytest.raises(ArchiveError):
        archive_images(_tar(tmp_path / "e.tar", {"README": b"x"}))


@pytest.mark.parametrize(("ref", "full", "want"), [
    ("box:v2", None, ("box:v2",)), ("team/box", None, ("team/box",)), ("v2", None, ()), (None, None, ()),
    ("v3", "docker.io/library/box:v3", ("docker.io/library/box:v3",)),
])
def test_oci_names(ref: str | None, full: str | None, want: tuple[str, ...]) -> None:
    assert oci_names(ref, full) == want


NAMED = ArchiveImage("s", ("docker.io/library/web:v1",), 1)
UNNAMED = ArchiveImage("s", (), 1)


@pytest.mark.parametrize(("image", "name", "count", "want"), [
    (NAMED, None, 1, [("library/web", "v1")]),
    (NAMED, "other", 1, [("library/other", "v1")]),  # --name without a tag keeps the archive's tag
    (NAMED, "other:2", 1, [("library/other", "2")]),
    (UNNAMED, "team/app", 1, [("team/app", "latest")]),
    (ArchiveImage("s", ("a:1", "b:2"), 1), None, 2, [("library/a", "1"), ("library/b", "2")]),
])
def test_targets(image: ArchiveImage, name: str | None, count: int, want: list[tuple[str, str]]) -> None:
    assert targets(image, name, count) == want


@pytest.mark.parametrize(("image", "name", "count"), [(UNNAMED, None, 1), (NAMED, "x", 2)])
def test_targets_errors(image: ArchiveImage, name: str | None, count: int) -> None:
    with pytest.raises(ArchiveError):
        targets(image, name, count)


@pytest.mark.parametrize(("size", "want"), [(0, "0B"), (999, "999B"), (1536, "1.5kB"), (9_700_000, "9.7MB"),
                                            (3_200_000_000, "3.2GB")])
def test_human_size(size: int, want: str) -> None:
    assert human_size(size) == want
