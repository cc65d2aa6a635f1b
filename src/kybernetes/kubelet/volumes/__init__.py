"""Pod volumes: set up before containers start, torn down after the pod's sandbox is gone.

Layout (upstream's): ``<data-dir>/pods/<uid>/volumes/kubernetes.io~<plugin>/<volume>``.  Supported: emptyDir (medium
Memory → tmpfs), hostPath (type checks), configMap, secret, downwardAPI, projected (configMap, secret, downwardAPI,
serviceAccountToken).  ``persistentVolumeClaim`` goes through :attr:`VolumeManager.pvc_hook` (the storage issue).
"""

from kybernetes.kubelet.volumes.manager import VolumeManager
from kybernetes.kubelet.volumes.sources import VolumeError

__all__ = ["VolumeError", "VolumeManager"]
