"""The PersistentVolume controller (binder): see :mod:`.controller`; the pure matching is in
:mod:`kybernetes.api.pvmatch` (shared with the scheduler and the kubelet)."""

from kybernetes.controllers.persistentvolume.controller import PersistentVolumeController

__all__ = ["PersistentVolumeController"]
