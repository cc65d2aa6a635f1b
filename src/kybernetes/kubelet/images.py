"""Image pulls with pull policy, events and back-off (upstream's imageManager.EnsureImageExists).

Events (1.33 wording): ``Pulling`` ``Pulling image "nginx"``; ``Pulled`` ``Successfully pulled image "nginx" in
340ms (340ms including waiting). Image size: 9731584 bytes.`` or ``Container image "nginx" already present on
machine``; ``Failed`` ``Failed to pull image "x": …``; ``BackOff`` ``Back-off pulling image "x"``.  Failures
surface as the waiting reasons ``ErrImagePull`` / ``ImagePullBackOff`` / ``ErrImageNeverPull``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kybernetes.kubelet.backoff import Backoff
from kybernetes.kubelet.cri.types import CRIError, ImageService

Obj = dict[str, Any]
Recorder = Callable[[str, str, str], None]  # (type, reason, message) about the pod


class ImagePullError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def pull_policy(container: Obj) -> str:
    policy = container.get("imagePullPolicy")
    if policy:
        return str(policy)
    image = str(container.get("image", ""))
    tag = image.rsplit("/", 1)[-1]
    if "@" in tag:
        return "IfNotPresent"
    return "Always" if ":" not in tag or tag.endswith(":latest") else "IfNotPresent"


def normalize_image(image: str) -> str:
    """``nginx`` → ``docker.io/library/nginx:latest`` (what upstream shows in container statuses)."""
    if image.startswith("sha256:") or "@" in image:
        return image
    first, _, rest = image.partition("/")
    if not rest or ("." not in first and ":" not in first and first != "localhost"):
        image = f"docker.io/{image if rest else 'library/' + image}"
    if ":" not in image.rsplit("/", 1)[-1]:
        image += ":latest"
    return image


def format_duration(seconds: float) -> str:
    """Go's time.Duration string, rounded like the kubelet does (ms precision): ``340ms``, ``1.2s``."""
    ms = round(seconds * 1000)
    if ms < 1000:
        return f"{ms}ms"
    text = f"{ms / 1000:.3f}".rstrip("0").rstrip(".")
    if ms < 60_000:
        return f"{text}s"
    minutes, rest = divmod(ms / 1000, 60)
    return f"{int(minutes)}m{rest:.3f}".rstrip("0").rstrip(".") + "s"


class ImageManager:
    def __init__(self, images: ImageService, backoff: Backoff | None = None) -> None:
        self.images = images
        self.backoff = backoff or Backoff()

    async def ensure(self, pod_uid: str, container: Obj, record: Recorder) -> str:
        """Make the container's image present; returns the image reference for CreateContainer."""
        image = str(container.get("image", ""))
        policy = pull_policy(container)
        present = None
        if policy != "Always":
            try:
                present = await self.images.image_status(image)
            except CRIError as exc:
                raise ImagePullError("ErrImageInspect", f"Failed to inspect image \"{image}\": {exc}") from exc
        if present is not None:
            record("Normal", "Pulled", f'Container image "{image}" already present on machine')
            return present.id or image
        if policy == "Never":
            message = f'Container image "{image}" is not present with pull policy of Never'
            record("Warning", "ErrImageNeverPull", message)
            raise ImagePullError("ErrImageNeverPull", message)
        key = f"{pod_uid}/{image}"
        if self.backoff.in_backoff_since(key, time.time()):
            message = f'Back-off pulling image "{image}"'
            record("Normal", "BackOff", message)
            raise ImagePullError("ImagePullBackOff", message)
        record("Normal", "Pulling", f'Pulling image "{image}"')
        start = time.monotonic()
        try:
            ref = await self.images.pull_image(image)
        except CRIError as exc:
            self.backoff.next(key, time.time())
            message = f'Failed to pull image "{image}": {exc.message}'
            record("Warning", "Failed", message)
            record("Warning", "Failed", "Error: ErrImagePull")
            raise ImagePullError("ErrImagePull", message) from exc
        elapsed = format_duration(time.monotonic() - start)
        self.backoff.reset(key)
        size = 0
        try:
            info = await self.images.image_status(ref or image)
            size = info.size if info else 0
        except CRIError:
            pass
        record("Normal", "Pulled", f'Successfully pulled image "{image}" in {elapsed} ({elapsed} including '
                                   f"waiting). Image size: {size} bytes.")
        return ref or image
