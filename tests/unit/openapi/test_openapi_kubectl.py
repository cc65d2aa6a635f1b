"""The real kubectl reads our OpenAPI documents: ``explain`` (v3 and the v2 protobuf) and client-side apply's
strategic merge patch, against a throwaway HTTP server on 127.0.0.1 that serves discovery and OpenAPI only."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from kybernetes.api import openapi
from kybernetes.api.registry import Registry, default_registry

pytestmark = pytest.mark.kubectl

_real = shutil.which("kubectl")
KUBECTL_DIR = Path(os.path.realpath(_real)).parent if _real else None


def _kubectl(version: str) -> Path:
    path = KUBECTL_DIR / f"kubectl.{version}" if KUBECTL_DIR else None
    if path is None or not path.exists():
        pytest.skip(f"kubectl {version} not installed")
    return path


def _resource_list(reg: Registry, group: str, version: str) -> dict[str, Any]:
    resources = [{"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
                  "verbs": list(r.verbs)} for r in reg.in_group_version(group, version)]
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version, "resources": resources}


class _Server:
    def __init__(self, existing: dict[str, Any]) -> None:
        self.reg = default_registry()
        self.existing = existing
        self.requests: list[tuple[str, str, str, bytes]] = []

    def handle(self, method: str, path: str, ctype: str, body: bytes) -> tuple[int, str, bytes]:
        self.requests.append((method, path, ctype, body))
        p = urlparse(path).path
        reg = self.reg
        obj: Any = None
        if method != "GET":
            obj = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 500, "message": "test"}
            return 500, "application/json", json.dumps(obj).encode()
        if p == "/api":
            obj = {"kind": "APIVersions", "versions": ["v1"]}
        elif p == "/apis":
            groups = []
            for g in reg.groups():
                versions = [{"groupVersion": f"{g}/{v}", "version": v} for v in reg.versions(g)]
                groups.append({"name": g, "versions": versions, "preferredVersion": versions[0]})
            obj = {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
        elif p == "/api/v1":
            obj = _resource_list(reg, "", "v1")
        elif p.startswith("/apis/") and p.count("/") == 3:
            obj = _resource_list(reg, *p.split("/")[2:4])
        elif p == "/openapi/v3":
            obj = openapi.v3_index(reg)
        elif p.startswith("/openapi/v3/"):
            parts = p.split("/")[3:]
            group, version = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])
            return 200, "application/json", openapi.v3_document_bytes(reg, group, version) or b""
        elif p == "/openapi/v2":
            return 200, "application/octet-stream", openapi.v2_protobuf(reg)
        elif p in self.existing:
            obj = self.existing[p]
        if obj is None:
            obj = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404,
                   "reason": "NotFound", "message": "not found", "details": {"name": p.rsplit("/", 1)[-1]}}
            return 404, "application/json", json.dumps(obj).encode()
        return 200, "application/json", json.dumps(obj).encode()


@pytest.fixture
def server() -> Iterator[tuple[_Server, str]]:
    state = _Server({})

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _any(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            ctype_in = self.headers.get("Content-Type", "")
            code, ctype, out = state.handle(self.command, self.path, ctype_in, body)
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        do_GET = do_POST = do_PATCH = do_PUT = _any

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _run(version: str, url: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [str(_kubectl(version)), f"--server={url}", f"--cache-dir={tmp / 'cache'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False,
                          env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp)})


@pytest.mark.parametrize(("version", "extra"), [
    pytest.param("1.33", [], id="1.33-v3"),
    pytest.param("1.27", [], id="1.27-v3"),
    pytest.param("1.27", ["--output=plaintext-openapiv2"], id="1.27-v2-protobuf"),
])
def test_explain(server: tuple[_Server, str], tmp_path: Path, version: str, extra: list[str]) -> None:
    state, url = server
    result = _run(version, url, tmp_path, "explain", "deployment.spec.template.spec.containers", *extra)
    assert result.returncode == 0, result.stderr
    assert "imagePullPolicy" in result.stdout and "name" in result.stdout
    if extra:  # the v2 protobuf document was what explain read
        assert any(p.startswith("/openapi/v2") for _, p, _, _ in state.requests)


@pytest.mark.parametrize("version", [pytest.param(v, id=v) for v in ("1.27", "1.32")])
def test_client_side_apply_computes_strategic_merge_patch(server: tuple[_Server, str], tmp_path: Path,
                                                          version: str) -> None:
    state, url = server
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
           "spec": {"containers": [{"name": "a", "image": "x"}]}}
    live_pod = json.loads(json.dumps(pod))
    last_applied = {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(pod)}
    live_pod["metadata"]["annotations"] = last_applied
    state.existing["/api/v1/namespaces/default/pods/p"] = live_pod
    pod["spec"]["containers"].append({"name": "b", "image": "y"})
    manifest = tmp_path / "pod.json"
    manifest.write_text(json.dumps(pod))
    result = _run(version, url, tmp_path, "apply", "-f", str(manifest))
    assert "error calculating patch" not in result.stderr
    patches = [(ctype, body) for method, _, ctype, body in state.requests if method == "PATCH"]
    assert len(patches) == 1
    ctype, body = patches[0]
    assert ctype == "application/strategic-merge-patch+json"
    patch = json.loads(body)
    assert patch["spec"]["$setElementOrder/containers"] == [{"name": "a"}, {"name": "b"}]
