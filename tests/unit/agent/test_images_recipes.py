"""Pure parts of the offline image recipes (kybernetes.agent.images): hashing, busybox links, push plans."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from kybernetes.agent.images import (
    RECIPES,
    RECIPES_DIR,
    ImageBuildError,
    Recipe,
    busybox_links,
    current_hash,
    layout_manifest,
    push_plan,
    recipe_hash,
)

R = Recipe("x", "latest", pushes=(("library/x", "latest"), ("library/x", "1"), ("x", "latest")), config=("--a",))


def test_recipe_hash_is_stable_and_sensitive() -> None:
    base = recipe_hash(R, [b"one", b"two"])
    assert base == recipe_hash(R, [b"one", b"two"])
    assert len(base) == 64
    assert base != recipe_hash(R, [b"one", b"three"])
    assert base != recipe_hash(R, [b"two", b"one"])
    assert base != recipe_hash(Recipe("x", "latest", pushes=R.pushes, config=("--b",)), [b"one", b"two"])
    # push targets are not part of the build: adding a tag does not rebuild
    assert base == recipe_hash(Recipe("x", "latest", pushes=(), config=("--a",)), [b"one", b"two"])


def test_recipes_cover_the_contract() -> None:
    pushes = {(r.name, repo, tag) for r in RECIPES for repo, tag in r.pushes}
    for want in [("pause", "library/pause", "3.6"), ("pause", "pause", "3.6"), ("pause", "pause", "3.10"),
                 ("busybox", "library/busybox", "latest"), ("busybox", "library/busybox", "1.36"),
                 ("nginx", "library/nginx", "latest"), ("nginx", "library/nginx", "1.27"),
                 ("nginx", "library/nginx", "1.26")]:
        assert want in pushes
    for recipe in RECIPES:
        for f in recipe.data_files:
            assert (RECIPES_DIR / f).is_file(), f


def test_current_hash_changes_with_data_files(tmp_path: Path) -> None:
    (tmp_path / "pause.c").write_text("int main(void){}")
    busybox = tmp_path / "busybox"
    busybox.write_bytes(b"bb")
    pause = next(r for r in RECIPES if r.name == "pause")
    first = current_hash(pause, tmp_path, busybox)
    busybox.write_bytes(b"bb2")  # pause does not contain busybox
    assert current_hash(pause, tmp_path, busybox) == first
    (tmp_path / "pause.c").write_text("int main(void){return 0;}")
    assert current_hash(pause, tmp_path, busybox) != first


LIST_FULL = "usr/bin/[\nbin/sh\nbin/ls\nsbin/ifconfig\nusr/bin/nc\nbin/busybox\nlinuxrc\nbin/cat\n"


@pytest.mark.parametrize(("usrmerged", "existing", "want"), [
    (False, set(), ["usr/bin/[", "bin/sh", "bin/ls", "sbin/ifconfig", "usr/bin/nc", "bin/cat"]),
    (True, set(), ["usr/bin/[", "usr/bin/sh", "usr/bin/ls", "usr/sbin/ifconfig", "usr/bin/nc", "usr/bin/cat"]),
    (True, {"usr/bin/cat", "usr/bin/ls"}, ["usr/bin/[", "usr/bin/sh", "usr/sbin/ifconfig", "usr/bin/nc"]),
])
def test_busybox_links(usrmerged: bool, existing: set[str], want: list[str]) -> None:
    assert busybox_links(LIST_FULL, existing.__contains__, usrmerged) == want


def test_busybox_links_dedupes_after_merge() -> None:
    assert busybox_links("bin/sh\nusr/bin/sh\n", lambda _: False, True) == ["usr/bin/sh"]


@pytest.mark.parametrize(("remote", "want"), [
    ({}, [("library/x", "latest", True), ("library/x", "1", False), ("x", "latest", True)]),
    ({("library/x", "latest"): "sha256:d", ("library/x", "1"): "sha256:d", ("x", "latest"): "sha256:d"}, []),
    ({("library/x", "latest"): "sha256:d"}, [("library/x", "1", True), ("x", "latest", True)]),
    ({("library/x", "latest"): "sha256:old", ("x", "latest"): "sha256:d"},
     [("library/x", "latest", True), ("library/x", "1", False)]),
])
def test_push_plan(remote: dict[tuple[str, str], str | None], want: list[tuple[str, str, bool]]) -> None:
    assert push_plan(R, remote, "sha256:d") == want


def test_layout_manifest(tmp_path: Path) -> None:
    body = json.dumps({"schemaVersion": 2, "layers": []}).encode()
    digest = hashlib.sha256(body).hexdigest()
    (tmp_path / "blobs/sha256").mkdir(parents=True)
    (tmp_path / "blobs/sha256" / digest).write_bytes(body)
    (tmp_path / "index.json").write_text(json.dumps({"manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": f"sha256:{digest}", "size": len(body),
        "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}))
    assert layout_manifest(tmp_path, "latest") == (
        f"sha256:{digest}", "application/vnd.oci.image.manifest.v1+json", body)
    with pytest.raises(ImageBuildError):
        layout_manifest(tmp_path, "other")
