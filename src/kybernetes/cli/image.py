"""``kyb image``: images in the node's local registry (which containerd mirrors docker.io and registry.k8s.io to).

``kyb image import FILE [--name NAME[:TAG]] [--registry ADDR]`` copies every image of a docker archive
(``docker save``) or an OCI archive (a tar of an OCI layout) into the registry with skopeo, under the archive's
names (or ``--name``), showing progress; afterwards pods pull it as e.g. ``docker.io/library/<name>:<tag>``.
``kyb image ls`` prints the registry's repositories and tags with digests and sizes.

The registry address defaults to ``<data-dir>/registry/address`` (written by the running server's
``LocalRegistry``), or ``$KYB_REGISTRY``.  Exit codes: 0 ok, 1 failure (message on stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

ANNOTATION_REF = "org.opencontainers.image.ref.name"
ANNOTATION_CONTAINERD_NAME = "io.containerd.image.name"


class ArchiveError(Exception):
    """The archive cannot be imported (unknown format, no name, skopeo failed)."""


@dataclass(frozen=True)
class ArchiveImage:
    """One image inside an archive: the skopeo source reference, its names (may be empty), its layer count."""

    source: str
    names: tuple[str, ...]
    layers: int


def _read_member(tar: tarfile.TarFile, name: str) -> Any:
    try:
        member = tar.getmember(name)
    except KeyError:
        return None
    handle = tar.extractfile(member)
    return json.loads(handle.read()) if handle is not None else None


def _oci_layers(tar: tarfile.TarFile, digest: str) -> int:
    algo, _, hexdigest = digest.partition(":")
    manifest = _read_member(tar, f"blobs/{algo}/{hexdigest}") or {}
    return len(manifest.get("layers", [])) or 1


def archive_images(path: Path) -> list[ArchiveImage]:
    """The images in a docker or OCI archive (docker's ``manifest.json`` wins when both are present, as in
    ``docker save`` ≥ 25).  Raises ArchiveError for anything else."""
    try:
        with tarfile.open(path, "r:*") as tar:
            return _archive_images(tar, path)
    except (OSError, tarfile.TarError) as e:
        raise ArchiveError(f"{path}: not a (possibly compressed) tar archive") from e


def _archive_images(tar: tarfile.TarFile, path: Path) -> list[ArchiveImage]:
    images: list[ArchiveImage] = []
    members = set(tar.getnames())
    manifest = _read_member(tar, "manifest.json") if "manifest.json" in members else None
    if isinstance(manifest, list):
        for i, entry in enumerate(manifest):
            tags = tuple(entry.get("RepoTags") or ())
            layers = len(entry.get("Layers") or ()) or 1
            if tags:
                images.extend(ArchiveImage(f"docker-archive:{path}:{t}", (t,), layers) for t in tags)
            else:
                images.append(ArchiveImage(f"docker-archive:{path}@{i}", (), layers))
        return images
    if "oci-layout" in members and "index.json" in members:
        index = _read_member(tar, "index.json") or {}
        for desc in index.get("manifests", []):
            notes = desc.get("annotations") or {}
            ref, full = notes.get(ANNOTATION_REF), notes.get(ANNOTATION_CONTAINERD_NAME)
            source = f"oci-archive:{path}:{ref}" if ref else f"oci-archive:{path}"
            images.append(ArchiveImage(source, oci_names(ref, full), _oci_layers(tar, desc.get("digest", ""))))
        return images
    raise ArchiveError(f"{path}: neither a docker archive (manifest.json) nor an OCI archive (oci-layout)")


def oci_names(ref_name: str | None, containerd_name: str | None) -> tuple[str, ...]:
    """The image name an OCI index entry carries: containerd's full-name annotation, else a ``ref.name`` that is
    a reference (has ``:`` or ``/``); a bare ``ref.name`` is only a tag and gives no name."""
    if containerd_name:
        return (containerd_name,)
    if ref_name and (":" in ref_name or "/" in ref_name):
        return (ref_name,)
    return ()


def targets(image: ArchiveImage, name: str | None, count: int) -> list[tuple[str, str]]:
    """Registry ``(repository, tag)`` pairs an archive image goes to.  ``name`` (``--name``) replaces the
    archive's names and is allowed for single-image archives only; without a tag it keeps the archive's tag."""
    from kybernetes.agent.registry import parse_reference, registry_repository

    if name is not None:
        if count != 1:
            raise ArchiveError("--name needs an archive with exactly one image")
        parsed = parse_reference(name)
        has_tag = ":" in name.rsplit("/", 1)[-1]
        tag = parsed.tag if has_tag else None
        if tag is None and image.names:
            tag = registry_repository(image.names[0])[1]
        return [(parsed.path, tag or "latest")]
    if not image.names:
        raise ArchiveError(f"the image {image.source} has no name; pass --name NAME[:TAG]")
    return [registry_repository(n) for n in image.names]


def human_size(size: int) -> str:
    """``1536`` → ``1.5kB`` (decimal units, like docker)."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1000
    return f"{value:.1f}GB"  # pragma: no cover


# ---------------------------------------------------------------------------------------------------------------
# import
# ---------------------------------------------------------------------------------------------------------------


async def _skopeo_copy(source: str, dest: str, on_line: Any) -> None:
    process = await asyncio.create_subprocess_exec(
        "skopeo", "copy", "--dest-tls-verify=false", source, dest, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    async for raw in process.stdout:
        on_line(raw.decode(errors="replace").strip())
    err = await process.stderr.read()
    if await process.wait() != 0:
        raise ArchiveError(f"skopeo copy {source} → {dest} failed: {err.decode(errors='replace').strip()[-800:]}")


async def import_archive(path: Path, registry: str, name: str | None = None,
                         console: Console | None = None) -> list[str]:
    """Copy every image of the archive at ``path`` into ``registry``; returns the names pods pull them by."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from kybernetes.agent.registry import RegistryClient, pull_name

    images = archive_images(path)
    plan = [(image, target) for image in images for target in targets(image, name, len(images))]
    if not plan:
        raise ArchiveError(f"{path}: the archive holds no image")
    pulled: list[str] = []
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        for image, (repo, tag) in plan:
            label = pull_name(repo, tag)
            task = progress.add_task(label, total=image.layers + 2)  # layers, config, manifest

            def on_line(line: str, task: Any = task) -> None:
                if line.startswith(("Copying blob", "Copying config", "Writing manifest")):
                    progress.advance(task)

            await _skopeo_copy(image.source, f"docker://{registry}/{repo}:{tag}", on_line)
            progress.update(task, completed=image.layers + 2)
            pulled.append(label)
    async with RegistryClient(registry) as client:
        for label, (_, (repo, tag)) in zip(pulled, plan, strict=True):
            digest = await client.manifest_digest(repo, tag)
            if console is not None:
                console.print(f"imported [bold]{label}[/bold] ({registry}/{repo}:{tag}, {digest})")
    return pulled


# ---------------------------------------------------------------------------------------------------------------
# ls
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class ImageRow:
    repository: str
    tag: str
    digest: str
    size: int


async def list_images(registry: str) -> list[ImageRow]:
    """Every repository:tag in the registry with its manifest digest and size, sorted."""
    from kybernetes.agent.registry import RegistryClient

    async with RegistryClient(registry) as client:
        repos = await client.catalog()
        tag_lists = await asyncio.gather(*(client.tags(r) for r in repos))
        pairs = [(r, t) for r, tags in zip(repos, tag_lists, strict=True) for t in tags]
        infos = await asyncio.gather(*(client.manifest(r, t) for r, t in pairs))
    return sorted(ImageRow(r, t, i.digest, i.size) for (r, t), i in zip(pairs, infos, strict=True))


def render_table(rows: list[ImageRow], console: Console) -> None:
    from rich.table import Table

    from kybernetes.agent.registry import pull_name

    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("REPOSITORY", "TAG", "IMAGE", "DIGEST", "SIZE"):
        table.add_column(column, no_wrap=True, justify="right" if column == "SIZE" else "left")
    for row in rows:
        table.add_row(row.repository, row.tag, pull_name(row.repository, row.tag),
                      row.digest.removeprefix("sha256:")[:12], human_size(row.size))
    console.print(table)


# ---------------------------------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------------------------------


def add_parser(sub: Any, default_data_dir: Path) -> None:
    """Register ``kyb image`` (``import``, ``ls``) on the ``kyb`` subparsers ``sub``."""
    p = sub.add_parser("image", help="images in the local registry (import, ls)")
    p.add_argument("--data-dir", default=str(default_data_dir), help="finds the registry address")
    p.add_argument("--registry", help="registry HOST:PORT (default: the running server's)")
    isub = p.add_subparsers(dest="image_command", required=True)
    q = isub.add_parser("import", help="import a docker or OCI archive")
    q.add_argument("file", type=Path)
    q.add_argument("--name", help="NAME[:TAG] to import a single-image archive as")
    q.add_argument("--registry", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    q.add_argument("--data-dir", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    q = isub.add_parser("ls", help="list repositories and tags")
    q.add_argument("--registry", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    q.add_argument("--data-dir", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_image)


def cmd_image(args: argparse.Namespace) -> int:
    from rich.console import Console

    from kybernetes.agent.registry import RegistryError, default_address

    err = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=200, no_color=True)
    try:
        registry = args.registry or default_address(Path(args.data_dir))
        if args.image_command == "import":
            if not args.file.is_file():
                raise ArchiveError(f"{args.file}: no such file")
            asyncio.run(import_archive(args.file, registry, args.name, console=err))
        else:
            out = Console() if sys.stdout.isatty() else Console(width=200, no_color=True)
            render_table(asyncio.run(list_images(registry)), out)
    except (ArchiveError, RegistryError, ValueError, OSError) as e:
        err.print(f"kyb image {args.image_command}: {e}", markup=False, highlight=False)
        return 1
    except Exception as e:  # aiohttp errors: the registry is down or unreachable
        err.print(f"kyb image {args.image_command}: {type(e).__name__}: {e}", markup=False, highlight=False)
        return 1
    return 0
