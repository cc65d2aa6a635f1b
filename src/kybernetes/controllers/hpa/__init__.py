"""The horizontal pod autoscaler: pure replica calculation (:mod:`.replicas`), normalization with behaviors
(:mod:`.behavior`), and the controller (:mod:`.controller`, registered as ``horizontalpodautoscaling``)."""

from kybernetes.controllers.hpa import controller as controller

__all__ = ["controller"]
