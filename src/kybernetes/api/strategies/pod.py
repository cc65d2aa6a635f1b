"""The Pod strategy (core/v1)."""

from __future__ import annotations

from kybernetes.api.errors import FieldError, not_supported
from kybernetes.api.strategies._util import Obj, m
from kybernetes.api.strategies.base import BaseStrategy
from kybernetes.api.strategies.pod_defaults import default_pod, pod_qos
from kybernetes.api.strategies.pod_validation import validate_pod_spec, validate_pod_spec_update


class PodStrategy(BaseStrategy):
    """Pods start ``Pending`` with their QoS class; the spec is mostly immutable.

    ``generation_changes`` is False: pods did not track generation before upstream 1.34.
    """

    has_status_subresource = True

    def initial_status(self, obj: Obj) -> Obj | None:
        return {"phase": "Pending", "qosClass": pod_qos(obj)}

    def _default(self, obj: Obj) -> None:
        default_pod(obj)

    def _validate(self, obj: Obj) -> list[FieldError]:
        return validate_pod_spec(m(obj, "spec"), "spec")

    def _validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return validate_pod_spec_update(m(new, "spec"), m(old, "spec"))

    def _validate_status(self, obj: Obj) -> list[FieldError]:
        phase = m(obj, "status").get("phase")
        valid = ["Pending", "Running", "Succeeded", "Failed", "Unknown"]
        if phase is not None and phase not in valid:
            return [not_supported("status.phase", phase, valid)]
        return []

    def warnings(self, obj: Obj) -> list[str]:
        out = []
        spec = m(obj, "spec")
        for key in m(spec, "nodeSelector"):
            if key == "beta.kubernetes.io/os":
                out.append(
                    f'spec.nodeSelector[{key}]: deprecated since v1.14; use "kubernetes.io/os" instead'
                )
            if key == "beta.kubernetes.io/arch":
                out.append(
                    f'spec.nodeSelector[{key}]: deprecated since v1.14; use "kubernetes.io/arch" instead'
                )
        return out
