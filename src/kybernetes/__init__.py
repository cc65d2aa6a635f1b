"""Kybernetes: a small, real Kubernetes written in Python.

General layout (see ARCHITECTURE.md): ``api`` is pure API machinery, ``storage`` the key-value stores,
``apiserver`` the only component touching storage, ``client`` what every other component talks through.
"""

__version__ = "0.1.0"
