"""The integration harness itself: start, readiness, restart, teardown, kubectl and client wiring."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from harness import KUBECTL_VERSIONS, ApiServer, Cluster, KubectlError


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def fake_kyb(tmp_path: Path, body: str) -> Path:
    """A stand-in executable for failure paths of the harness (the real server never behaves like this)."""
    path = tmp_path / "fake-kyb"
    path.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body))
    path.chmod(0o755)
    return path


# ------------------------------------------------------------------------------------------------ real server


def test_ready_over_tls_with_and_without_client_cert(apiserver: Cluster) -> None:
    assert apiserver.url.startswith("https://")
    assert apiserver.kubeconfig == apiserver.data_dir / "kubeconfig.yaml"
    assert apiserver.get("/readyz")[0] == 200
    # the server asks for a client certificate but must still accept a TLS client without one
    status, _ = apiserver.get("/readyz", anonymous=True)
    assert status in (200, 401, 403)


@pytest.mark.parametrize("version", KUBECTL_VERSIONS)
def test_every_kubectl_version_talks_tls(apiserver: Cluster, version: str) -> None:
    out = apiserver.kubectl("get", "--raw", "/version", version=version).stdout
    assert json.loads(out)["gitVersion"].startswith("v")


def test_kubectl_uses_the_tests_cache_dir(apiserver: Cluster) -> None:
    apiserver.kubectl("api-resources")
    assert list((apiserver.cache_dir / "discovery").iterdir())


def test_kubectl_failure_raises_with_output(apiserver: Cluster) -> None:
    with pytest.raises(KubectlError, match="--- stderr") as err:
        apiserver.kubectl("get", "--raw", "/no/such/path")
    assert err.value.returncode != 0
    proc = apiserver.kubectl("get", "--raw", "/no/such/path", check=False)
    assert proc.returncode != 0


def test_official_client(api_client: Any) -> None:
    from kubernetes import client

    namespaces = client.CoreV1Api(api_client).list_namespace()
    assert "default" in [ns.metadata.name for ns in namespaces.items if ns.metadata is not None]


def test_restart_keeps_data_dir_port_and_ca(apiserver: Cluster) -> None:
    before_pid = apiserver.server.pid
    ca = (apiserver.data_dir / "tls" / "ca.crt").read_bytes()
    url = apiserver.url
    apiserver.restart()
    assert before_pid is not None and gone(before_pid)
    assert apiserver.server.pid != before_pid
    assert apiserver.url == url
    assert (apiserver.data_dir / "tls" / "ca.crt").read_bytes() == ca
    assert apiserver.kubectl("get", "--raw", "/readyz").returncode == 0


def test_dead_server_is_revived(apiserver: Cluster) -> None:
    """What the ``apiserver`` fixture does before each test when an earlier one left the server dead."""
    pid = apiserver.server.pid
    apiserver.server.ensure_running()
    assert apiserver.server.pid == pid  # alive: untouched
    apiserver.server.kill()
    assert not apiserver.server.alive
    apiserver.server.ensure_running()
    assert apiserver.server.alive
    assert apiserver.server.pid != pid
    assert apiserver.get("/readyz")[0] == 200


def test_fresh_server_is_separate(apiserver: Cluster, fresh_apiserver: Cluster) -> None:
    assert fresh_apiserver.data_dir != apiserver.data_dir
    assert fresh_apiserver.url != apiserver.url
    assert fresh_apiserver.get("/readyz")[0] == 200


def test_close_stops_the_process_group(tmp_path: Path) -> None:
    server = ApiServer(tmp_path / "data")
    server.start()
    pid = server.pid
    assert pid is not None and not gone(pid)
    server.close()
    assert gone(pid)
    assert server.stop() is not None  # idempotent


# ---------------------------------------------------------------------------------------------- failure paths


def test_early_exit_reports_stderr(tmp_path: Path) -> None:
    kyb = fake_kyb(tmp_path, 'import sys\nprint("boom: bad flag", file=sys.stderr)\nsys.exit(3)\n')
    server = ApiServer(tmp_path / "data", kyb=kyb, start_timeout=10)
    with pytest.raises(RuntimeError, match=r"(?s)exited with 3 before it was ready.*boom: bad flag"):
        server.start()
    server.close()


def test_timeout_reports_stderr_and_kills(tmp_path: Path) -> None:
    kyb = fake_kyb(
        tmp_path,
        """
        import signal, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # must be SIGKILLed
        print("still starting", file=sys.stderr, flush=True)
        time.sleep(60)
        """,
    )
    server = ApiServer(tmp_path / "data", kyb=kyb, start_timeout=1, stop_timeout=0.5)
    with pytest.raises(
        RuntimeError, match=r"(?s)not ready after 1s \(kubeconfig not written yet\).*still starting"
    ):
        server.start()
    pid = server.pid
    assert pid is not None and gone(pid)
    server.close()
