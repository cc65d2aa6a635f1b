"""Offline images: build ``pause``, ``busybox`` and a real ``nginx`` from this machine's packages and push them to
the local registry.  No internet: busybox comes from Debian's busybox-static, nginx from Debian's .debs
(``apt-get download``, Debian's mirror only), pause from ``images/pause.c`` with gcc; umoci builds the OCI
layouts, skopeo pushes them.

Contract of :func:`ensure_images`:

* ``cache_dir/oci/<name>`` is the OCI layout of each image, ``cache_dir/<name>.recipe-hash`` its recipe hash.
  The hash file is written last, so its presence with the current hash means "built"; the hash covers the
  recipe (this module's source, the recipe data under ``images/``, the host busybox binary).  Nothing is rebuilt
  while it matches — Debian package updates alone do not trigger a rebuild (delete the hash file to force one).
* Each image is then made present under every (repository, tag) of its recipe: a HEAD request compares the
  registry's digest with the layout's; missing ones are pushed (skopeo for the first tag of a repository, a
  manifest PUT for further tags).  With a warm cache and a fresh registry this takes well under a second; with
  everything already there it is a handful of HEAD requests.
* A file lock (``cache_dir/.lock``) serializes concurrent callers sharing a cache.

What lands in the registry (containerd mirrors docker.io and registry.k8s.io to it, dropping the domain):

=====================  ===============================  ==========================================
repository             tags                             pulled as
=====================  ===============================  ==========================================
``library/pause``      3.6, 3.10                        ``pause:3.6`` (docker.io)
``pause``              3.6, 3.10                        ``registry.k8s.io/pause:3.6`` / ``:3.10``
``library/busybox``    latest, 1.36                     ``busybox``, ``busybox:1.36``
``library/nginx``      latest, 1.27, 1.26               ``nginx``, ``nginx:1.27``, ``nginx:1.26``
=====================  ===============================  ==========================================

The version tags are aliases of the one build (nginx is Debian 12's 1.22, busybox 1.35): they exist so the
usual ``kubectl set image deploy/x nginx=nginx:1.27`` walkthroughs work offline.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kybernetes.agent.registry import RegistryClient

log = logging.getLogger("kyb.images")

#: Where the recipes' data (pause.c, nginx/nginx.conf, nginx/index.html) live: ``images/`` at the repo root.
RECIPES_DIR = Path(os.environ.get("KYB_IMAGES_DIR") or Path(__file__).resolve().parents[3] / "images")
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BUSYBOX_CANDIDATES = ("/usr/bin/busybox", "/bin/busybox")
NGINX_DEBS = ("nginx", "nginx-common", "libc6", "libcrypt1", "libpcre2-8-0", "libssl3", "zlib1g", "libgcc-s1")
#: Applets the nginx image must have for ``kubectl exec`` (checked after the build).
NGINX_SHELL_TOOLS = ("sh", "cat", "hostname", "ls", "sleep", "nc", "ps", "env")
_PARALLEL_PUSHES = 4


class ImageBuildError(Exception):
    """A build step failed (the message carries the command and its output)."""


@dataclass(frozen=True)
class Recipe:
    """One image: built once into an OCI layout ``<name>:<tag>``, pushed under every ``(repository, tag)``."""

    name: str
    tag: str
    pushes: tuple[tuple[str, str], ...]
    config: tuple[str, ...]  # `umoci config` flags
    data_files: tuple[str, ...] = ()  # under RECIPES_DIR, hashed
    fill: Callable[[BuildContext], None] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class BuildContext:
    recipe: Recipe
    rootfs: Path
    work: Path
    recipes_dir: Path
    busybox: Path


# ---------------------------------------------------------------------------------------------------------------
# pure helpers
# ---------------------------------------------------------------------------------------------------------------


def recipe_hash(recipe: Recipe, data: Iterable[bytes]) -> str:
    """sha256 over the recipe's fields and the given input contents (module source, data files, host binaries)."""
    h = hashlib.sha256()
    h.update(json.dumps([recipe.name, recipe.tag, list(recipe.config), list(recipe.data_files)]).encode())
    for blob in data:
        h.update(hashlib.sha256(blob).digest())
    return h.hexdigest()


def busybox_links(list_full: str, existing: Callable[[str], bool], usrmerged: bool) -> list[str]:
    """Paths (relative to the rootfs) of applet symlinks to create from ``busybox --list-full`` output, skipping
    names ``existing`` reports as present.  With ``usrmerged``, ``bin/x`` and ``sbin/x`` go to ``usr/bin`` and
    ``usr/sbin`` (the top-level dirs are symlinks there)."""
    links: list[str] = []
    seen: set[str] = set()
    for line in list_full.split():
        path = line.strip().lstrip("/")
        if not path or path.endswith("/busybox") or path == "linuxrc":
            continue
        if usrmerged and path.split("/", 1)[0] in ("bin", "sbin"):
            path = f"usr/{path}"
        if path in seen or existing(path):
            continue
        seen.add(path)
        links.append(path)
    return links


def push_plan(recipe: Recipe, remote: dict[tuple[str, str], str | None], digest: str) -> list[tuple[str, str, bool]]:
    """What to push: ``(repository, tag, first_in_repository)`` for every push target whose remote digest
    differs from ``digest``; the first missing tag of a repository needs the blobs (skopeo), later ones only a
    manifest PUT."""
    plan: list[tuple[str, str, bool]] = []
    repos: set[str] = set()
    for repo, tag in recipe.pushes:
        if remote.get((repo, tag)) == digest:
            continue
        plan.append((repo, tag, repo not in repos))
        repos.add(repo)
    return plan


def layout_manifest(layout: Path, tag: str) -> tuple[str, str, bytes]:
    """(digest, media type, bytes) of the manifest tagged ``tag`` in an OCI layout."""
    index = json.loads((layout / "index.json").read_text())
    for desc in index.get("manifests", []):
        if desc.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            algo, _, hexdigest = desc["digest"].partition(":")
            body = (layout / "blobs" / algo / hexdigest).read_bytes()
            return desc["digest"], desc.get("mediaType", "application/vnd.oci.image.manifest.v1+json"), body
    raise ImageBuildError(f"{layout} has no manifest tagged {tag!r}")


# ---------------------------------------------------------------------------------------------------------------
# side effects
# ---------------------------------------------------------------------------------------------------------------


def _run(*argv: str | Path, cwd: Path | None = None) -> str:
    """Run a build command (blocking: builds run in a worker thread); raises ImageBuildError on failure."""
    done = subprocess.run(list(map(str, argv)), cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    if done.returncode != 0:
        raise ImageBuildError(f"{' '.join(map(str, argv))} exited with {done.returncode}: "
                              f"{(done.stderr or done.stdout).decode(errors='replace').strip()[-1500:]}")
    return done.stdout.decode(errors="replace")


async def _arun(*argv: str | Path) -> None:
    process = await asyncio.create_subprocess_exec(
        *map(str, argv), stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    if process.returncode != 0:
        raise ImageBuildError(f"{' '.join(map(str, argv))} exited with {process.returncode}: "
                              f"{(err or out).decode(errors='replace').strip()[-1500:]}")


def _host_busybox() -> Path:
    for candidate in BUSYBOX_CANDIDATES:
        path = Path(candidate)
        if path.is_file():
            if b"ld-linux" in path.read_bytes()[:65536]:
                raise ImageBuildError(f"{path} is dynamically linked: install busybox-static")
            return path
    raise ImageBuildError("busybox not found: install busybox-static")


def _base_rootfs(rootfs: Path) -> None:
    for d in ("etc", "tmp", "root", "proc", "sys", "dev", "run", "var/tmp"):
        (rootfs / d).mkdir(parents=True, exist_ok=True)
    for d in ("tmp", "var/tmp"):
        (rootfs / d).chmod(0o1777)
    (rootfs / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\n"
        "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
    (rootfs / "etc/group").write_text("root:x:0:\nwww-data:x:33:\nnogroup:x:65534:\n")
    (rootfs / "etc/nsswitch.conf").write_text("passwd: files\ngroup: files\nhosts: files dns\n")


def _install_busybox(ctx: BuildContext, target: str, usrmerged: bool) -> None:
    """Copy the host's static busybox to ``rootfs/target`` and symlink every applet not already present."""
    rootfs = ctx.rootfs
    dest = rootfs / target
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ctx.busybox, dest)
    listing = _run(ctx.busybox, "--list-full")
    for rel in busybox_links(listing, lambda p: os.path.lexists(rootfs / p), usrmerged):
        link = rootfs / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(f"/{target}")


def _fill_pause(ctx: BuildContext) -> None:
    _run("gcc", "-Os", "-static", "-s", "-o", ctx.rootfs / "pause", ctx.recipes_dir / "pause.c")


def _fill_busybox(ctx: BuildContext) -> None:
    _base_rootfs(ctx.rootfs)
    _install_busybox(ctx, "bin/busybox", usrmerged=False)


def _usrmerge(rootfs: Path) -> None:
    """Fold top-level bin/sbin/lib/lib64 into usr/ and leave symlinks (Debian 12 layout; libc6 ships /lib64)."""
    for d in ("bin", "sbin", "lib", "lib64"):
        top, usr = rootfs / d, rootfs / "usr" / d
        if top.is_dir() and not top.is_symlink():
            usr.mkdir(parents=True, exist_ok=True)
            shutil.copytree(top, usr, symlinks=True, dirs_exist_ok=True)
            shutil.rmtree(top)
        if not os.path.lexists(top):
            usr.mkdir(parents=True, exist_ok=True)
            top.symlink_to(f"usr/{d}")


def _apt_download(debs_dir: Path, packages: Sequence[str]) -> list[Path]:
    debs_dir.mkdir(parents=True, exist_ok=True)
    argv = ("apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", *packages)
    try:
        _run(*argv, cwd=debs_dir)
    except ImageBuildError:
        log.info("apt-get download failed; updating the package lists once and retrying")
        _run("apt-get", "update", "-qq")
        _run(*argv, cwd=debs_dir)
    return sorted(debs_dir.glob("*.deb"))


def _fill_nginx(ctx: BuildContext) -> None:
    rootfs = ctx.rootfs
    _base_rootfs(rootfs)
    for deb in _apt_download(ctx.work / "debs", NGINX_DEBS):
        _run("dpkg-deb", "-x", deb, rootfs)
    _usrmerge(rootfs)
    _install_busybox(ctx, "usr/bin/busybox", usrmerged=True)
    for d in ("var/lib/nginx", "var/cache/nginx", "var/log/nginx", "usr/share/nginx/html"):
        (rootfs / d).mkdir(parents=True, exist_ok=True)
    for name, target in (("access.log", "/dev/stdout"), ("error.log", "/dev/stderr")):
        log_file = rootfs / "var/log/nginx" / name
        log_file.unlink(missing_ok=True)
        log_file.symlink_to(target)
    shutil.copyfile(ctx.recipes_dir / "nginx/nginx.conf", rootfs / "etc/nginx/nginx.conf")
    shutil.copyfile(ctx.recipes_dir / "nginx/index.html", rootfs / "usr/share/nginx/html/index.html")
    for d in ("usr/share/doc", "usr/share/man", "usr/share/lintian", "usr/share/locale", "usr/share/i18n",
              "usr/share/zoneinfo", "usr/share/info", "etc/nginx/sites-enabled", "etc/nginx/sites-available"):
        shutil.rmtree(rootfs / d, ignore_errors=True)
    missing = [t for t in NGINX_SHELL_TOOLS if not os.path.lexists(rootfs / "usr/bin" / t)]
    if missing:
        raise ImageBuildError(f"nginx image lacks {missing}")
    _run("chroot", rootfs, "/usr/sbin/nginx", "-t")


RECIPES: tuple[Recipe, ...] = (
    Recipe("pause", "3.6",
           pushes=(("library/pause", "3.6"), ("library/pause", "3.10"), ("pause", "3.6"), ("pause", "3.10")),
           config=("--config.entrypoint=/pause",), data_files=("pause.c",), fill=_fill_pause),
    Recipe("busybox", "latest",
           pushes=(("library/busybox", "latest"), ("library/busybox", "1.36")),
           config=("--config.cmd=sh", f"--config.env={PATH_ENV}"), fill=_fill_busybox),
    Recipe("nginx", "latest",
           pushes=(("library/nginx", "latest"), ("library/nginx", "1.27"), ("library/nginx", "1.26")),
           config=("--config.cmd=nginx", "--config.cmd=-g", "--config.cmd=daemon off;", f"--config.env={PATH_ENV}",
                   "--config.exposedports=80/tcp", "--config.stopsignal=SIGQUIT"),
           data_files=("nginx/nginx.conf", "nginx/index.html"), fill=_fill_nginx),
)


def current_hash(recipe: Recipe, recipes_dir: Path, busybox: Path) -> str:
    """The recipe hash for this machine: recipe fields, this module's source, data files, the busybox binary."""
    inputs = [Path(__file__).read_bytes()]
    inputs += [(recipes_dir / f).read_bytes() for f in recipe.data_files]
    if recipe.name != "pause":
        inputs.append(busybox.read_bytes())
    return recipe_hash(recipe, inputs)


def build_image(recipe: Recipe, cache_dir: Path, recipes_dir: Path, busybox: Path) -> Path:
    """Build ``recipe`` into ``cache_dir/oci/<name>`` (replacing it atomically); returns the layout path."""
    assert recipe.fill is not None
    work = cache_dir / "tmp" / f"{recipe.name}-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        layout, bundle = work / "oci", work / "bundle"
        image = f"{layout}:{recipe.tag}"
        _run("umoci", "init", "--layout", layout)
        _run("umoci", "new", "--image", image)
        _run("umoci", "unpack", "--image", image, bundle)
        recipe.fill(BuildContext(recipe, bundle / "rootfs", work, recipes_dir, busybox))
        _run("umoci", "repack", "--image", image, bundle)
        _run("umoci", "config", "--image", image, "--os=linux", "--architecture=amd64", *recipe.config)
        _run("umoci", "gc", "--layout", layout)
        final = cache_dir / "oci" / recipe.name
        final.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(final, ignore_errors=True)
        layout.rename(final)
        return final
    finally:
        shutil.rmtree(work, ignore_errors=True)


async def push_image(recipe: Recipe, layout: Path, registry: str, client: RegistryClient,
                     limit: asyncio.Semaphore) -> int:
    """Make every push target of ``recipe`` hold the layout's manifest; returns how many tags were written."""
    digest, media_type, body = layout_manifest(layout, recipe.tag)
    remote = dict(zip(recipe.pushes,
                      await asyncio.gather(*(client.manifest_digest(r, t) for r, t in recipe.pushes)), strict=True))
    plan = push_plan(recipe, remote, digest)
    for repo, tag, first in plan:  # in order: the first tag of a repository brings the blobs
        async with limit:
            if first:
                await _arun("skopeo", "copy", "-q", "--preserve-digests", "--dest-tls-verify=false",
                           f"oci:{layout}:{recipe.tag}", f"docker://{registry}/{repo}:{tag}")
            else:
                await client.put_manifest(repo, tag, body, media_type)
    return len(plan)


async def _locked(cache_dir: Path) -> int:
    """Create ``cache_dir`` and hold an exclusive lock on ``cache_dir/.lock``; returns the fd to unlock."""
    await asyncio.to_thread(cache_dir.mkdir, parents=True, exist_ok=True)
    fd = os.open(cache_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    return fd


def ensure_built(recipe: Recipe, cache_dir: Path, recipes_dir: Path, busybox: Path) -> Path:
    """The OCI layout of ``recipe`` in ``cache_dir``, built first unless its recipe-hash file is current
    (blocking)."""
    want = current_hash(recipe, recipes_dir, busybox)
    hash_file = cache_dir / f"{recipe.name}.recipe-hash"
    layout = cache_dir / "oci" / recipe.name
    have = hash_file.read_text().strip() if hash_file.is_file() else ""
    if have != want or not (layout / "index.json").is_file():
        started = time.monotonic()
        hash_file.unlink(missing_ok=True)
        layout = build_image(recipe, cache_dir, recipes_dir, busybox)
        hash_file.write_text(want + "\n")
        log.info("built image %s in %.2fs", recipe.name, time.monotonic() - started)
    return layout


async def _ensure_one(recipe: Recipe, registry: str, cache_dir: Path, recipes_dir: Path, busybox: Path,
                      client: RegistryClient, limit: asyncio.Semaphore) -> None:
    layout = await asyncio.to_thread(ensure_built, recipe, cache_dir, recipes_dir, busybox)
    pushed = await push_image(recipe, layout, registry, client, limit)
    if pushed:
        log.info("pushed %s: %d tag(s) to %s", recipe.name, pushed, registry)


async def ensure_images(registry: str, cache_dir: Path, *, recipes: Sequence[Recipe] = RECIPES,
                        recipes_dir: Path = RECIPES_DIR) -> None:
    """Make sure pause, busybox and nginx are in the registry at ``registry`` (``host:port``, plain HTTP),
    building them into ``cache_dir`` first when their recipe changed (see the module docstring).  Raises
    :class:`ImageBuildError` (or ``RegistryError``) when a build or push fails; a failed build leaves no hash
    file, so the next call retries."""
    started = time.monotonic()
    busybox = await asyncio.to_thread(_host_busybox)
    fd = await _locked(cache_dir)
    try:
        limit = asyncio.Semaphore(_PARALLEL_PUSHES)
        async with RegistryClient(registry) as client:
            await client.ping()
            try:
                async with asyncio.TaskGroup() as tg:
                    for recipe in recipes:
                        tg.create_task(_ensure_one(recipe, registry, cache_dir, recipes_dir, busybox, client, limit))
            except ExceptionGroup as group:  # report the first failure as itself
                raise group.exceptions[0] from group
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    log.info("images ready in %s after %.2fs", registry, time.monotonic() - started)
