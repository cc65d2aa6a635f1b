"""The seed walkthrough, as a user types it, on a whole real `kyb server` — with kubectl 1.27, 1.32 and 1.33.

``seed-walkthrough.sh`` is the project's acceptance script (create a deployment, scale it, autoscale it, expose it,
curl its ClusterIP from the host, mount a volume through a PV/PVC, read logs, exec, clean up).  It must print
``35 passed, 0 failed`` for every kubectl version; each run leaves the cluster as it found it ("all gone").
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from harness import kubectl_binary
from test_kyb_server import Node, node  # noqa: F401 - the real-node fixture (one kyb server per module)

SCRIPT = Path(__file__).with_name("seed-walkthrough.sh")


@pytest.mark.root
@pytest.mark.parametrize("version", ["1.27", "1.32", "1.33"])
def test_seed_walkthrough(node: Node, version: str) -> None:  # noqa: F811
    env = {**os.environ, "KUBECONFIG": str(node.server.kubeconfig), "KUBECTL": str(kubectl_binary(version)),
           "WAIT_S": "90"}
    proc = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "35 passed, 0 failed"
