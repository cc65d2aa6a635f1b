"""The seed walkthrough's API half with the real kubectl 1.27, 1.32 and 1.33 against a real ``kyb apiserver``.

Each kubectl version works in a namespace of its own on the module's shared server.  Without controllers
(another issue), deployments stay at 0 ready replicas and pods Pending; what is checked here is what the API
server itself answers and how kubectl prints it.
"""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest
from harness import Cluster

VERSIONS = ("1.27", "1.32", "1.33")


def _lines(text: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in text.strip().splitlines()]


@pytest.fixture(params=VERSIONS)
def kubectl(request: pytest.FixtureRequest, apiserver: Cluster):  # type: ignore[no-untyped-def]
    version: str = request.param
    ns = "v" + version.replace(".", "")

    def run(*args: str, check: bool = True, input: str | None = None,
            namespaced: bool = True) -> subprocess.CompletedProcess[str]:
        extra = ("-n", ns) if namespaced else ()
        return apiserver.kubectl(*args, *extra, version=version, check=check, input=input)

    run.version = version  # type: ignore[attr-defined]
    run.ns = ns  # type: ignore[attr-defined]
    if apiserver.kubectl("get", "namespace", ns, version=version, check=False).returncode != 0:
        out = apiserver.kubectl("create", "namespace", ns, version=version)
        assert out.stdout.strip() == f"namespace/{ns} created"
    return run


def test_create_get_describe_deployment(kubectl) -> None:  # type: ignore[no-untyped-def]
    out = kubectl("create", "deployment", "nginx", "--image=nginx")
    assert out.stdout.strip() == "deployment.apps/nginx created"

    rows = _lines(kubectl("get", "deployments").stdout)
    assert rows[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert rows[1][:4] == ["nginx", "0/1", "0", "0"]
    assert re.fullmatch(r"\d+s", rows[1][4])

    wide = _lines(kubectl("get", "deployment", "nginx", "-o", "wide").stdout)
    assert wide[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    assert wide[1][5:] == ["nginx", "nginx", "app=nginx"]

    obj = json.loads(kubectl("get", "deployment", "nginx", "-o", "json").stdout)
    assert obj["kind"] == "Deployment" and obj["apiVersion"] == "apps/v1"
    assert obj["metadata"]["generation"] == 1
    assert int(obj["metadata"]["resourceVersion"]) > 0
    spec = obj["spec"]
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert spec["revisionHistoryLimit"] == 10 and spec["progressDeadlineSeconds"] == 600
    container = spec["template"]["spec"]["containers"][0]
    assert container["imagePullPolicy"] == "Always"
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert spec["template"]["spec"]["restartPolicy"] == "Always"
    assert spec["template"]["spec"]["dnsPolicy"] == "ClusterFirst"

    yaml_out = kubectl("get", "deployment", "nginx", "-o", "yaml").stdout
    assert "kind: Deployment" in yaml_out and "name: nginx" in yaml_out

    image = kubectl("get", "deployment", "nginx", "-o", "jsonpath={.spec.template.spec.containers[0].image}")
    assert image.stdout == "nginx"

    labels = _lines(kubectl("get", "deployments", "--show-labels").stdout)
    assert labels[0][-1] == "LABELS" and labels[1][-1] == "app=nginx"

    every = _lines(kubectl("get", "deployments", "-A", namespaced=False).stdout)
    assert every[0][:2] == ["NAMESPACE", "NAME"]
    assert [kubectl.ns, "nginx"] in [row[:2] for row in every[1:]]

    described = kubectl("describe", "deployment", "nginx").stdout
    assert re.search(r"^Name:\s+nginx$", described, re.M)
    assert re.search(r"^Namespace:\s+" + kubectl.ns + "$", described, re.M)
    assert re.search(r"^Selector:\s+app=nginx$", described, re.M)
    assert re.search(r"^StrategyType:\s+RollingUpdate$", described, re.M)
    assert re.search(r"^RollingUpdateStrategy:\s+25% max unavailable, 25% max surge$", described, re.M)
    assert re.search(r"^Replicas:\s+1 desired \| 0 updated \| 0 total \| 0 available \| 0 unavailable$",
                     described, re.M)


def test_apply_client_side_and_server_side(kubectl) -> None:  # type: ignore[no-untyped-def]
    manifest = """
apiVersion: v1
kind: Pod
metadata:
  name: my-pod
  labels:
    app: my-app
    type: front-app
spec:
  containers:
  - name: nginx-container
    image: nginx
"""
    assert kubectl("apply", "-f", "-", input=manifest).stdout.strip() == "pod/my-pod created"
    assert kubectl("apply", "-f", "-", input=manifest).stdout.strip() == "pod/my-pod unchanged"
    changed = manifest.replace("front-app", "back-app")
    assert kubectl("apply", "-f", "-", input=changed).stdout.strip() == "pod/my-pod configured"
    pod = json.loads(kubectl("get", "pod", "my-pod", "-o", "json").stdout)
    assert pod["metadata"]["labels"]["type"] == "back-app"
    assert "kubectl.kubernetes.io/last-applied-configuration" in pod["metadata"]["annotations"]

    rows = _lines(kubectl("get", "pods").stdout)
    assert rows[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert rows[1][:4] == ["my-pod", "0/1", "Pending", "0"]

    cm = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: ssa
data:
  a: "1"
"""
    out = kubectl("apply", "--server-side", "-f", "-", input=cm)
    assert out.stdout.strip() == "configmap/ssa serverside-applied"
    out = kubectl("apply", "--server-side", "-f", "-", input=cm.replace('a: "1"', 'a: "2"\n  b: "3"'))
    assert out.stdout.strip() == "configmap/ssa serverside-applied"
    got = json.loads(kubectl("get", "configmap", "ssa", "-o", "json", "--show-managed-fields").stdout)
    assert got["data"] == {"a": "2", "b": "3"}
    managers = {(m["manager"], m["operation"]) for m in got["metadata"]["managedFields"]}
    assert ("kubectl", "Apply") in managers


def test_scale_autoscale_expose_label_annotate_set_image(kubectl) -> None:  # type: ignore[no-untyped-def]
    kubectl("create", "deployment", "web", "--image=nginx")
    assert kubectl("scale", "deploy", "web", "--replicas=2").stdout.strip() == "deployment.apps/web scaled"
    spec = json.loads(kubectl("get", "deploy", "web", "-o", "json").stdout)
    assert spec["spec"]["replicas"] == 2 and spec["metadata"]["generation"] == 2

    out = kubectl("autoscale", "deployment", "web", "--min=2", "--max=10")
    assert out.stdout.strip() == "horizontalpodautoscaler.autoscaling/web autoscaled"
    rows = _lines(kubectl("get", "hpa").stdout)
    assert rows[0] == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]
    assert rows[1][:2] == ["web", "Deployment/web"]
    assert rows[1][2] == "cpu: <unknown>/80%" or rows[1][2] == "<unknown>/80%"
    assert rows[1][3:5] == ["2", "10"]

    out = kubectl("expose", "deployment", "web", "--port=80", "--type=ClusterIP")
    assert out.stdout.strip() == "service/web exposed"
    svc = json.loads(kubectl("get", "svc", "web", "-o", "json").stdout)
    ip = svc["spec"]["clusterIP"]
    assert re.fullmatch(r"10\.43\.\d+\.\d+", ip) and svc["spec"]["clusterIPs"] == [ip]
    rows = _lines(kubectl("get", "svc", "web").stdout)
    assert rows[0] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert rows[1][:5] == ["web", "ClusterIP", ip, "<none>", "80/TCP"]

    assert kubectl("label", "deploy", "web", "tier=front").stdout.strip() == "deployment.apps/web labeled"
    # the wording is kubectl's own (client side): some versions print "annotate"
    annotated = kubectl("annotate", "deploy", "web", "note=hi").stdout.strip()
    assert re.fullmatch(r"deployment.apps/web annotated?", annotated)
    out = kubectl("set", "image", "deployment/web", "nginx=nginx:1.27")
    assert out.stdout.strip() == "deployment.apps/web image updated"
    obj = json.loads(kubectl("get", "deploy", "web", "-o", "json").stdout)
    assert obj["metadata"]["labels"]["tier"] == "front"
    assert obj["metadata"]["annotations"]["note"] == "hi"
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"

    out = kubectl("delete", "deployment", "web", "--wait")
    assert out.stdout.strip() == 'deployment.apps "web" deleted'
    assert kubectl("get", "deployment", "web", check=False).returncode != 0


def test_create_namespace_configmap_secret(kubectl) -> None:  # type: ignore[no-untyped-def]
    out = kubectl("create", "configmap", "cfg", "--from-literal=a=1")
    assert out.stdout.strip() == "configmap/cfg created"
    out = kubectl("create", "secret", "generic", "sec", "--from-literal=password=s3cr3t")
    assert out.stdout.strip() == "secret/sec created"
    rows = _lines(kubectl("get", "secret", "sec").stdout)
    assert rows[0] == ["NAME", "TYPE", "DATA", "AGE"] and rows[1][:3] == ["sec", "Opaque", "1"]
    rows = _lines(kubectl("get", "configmap", "cfg").stdout)
    assert rows[0] == ["NAME", "DATA", "AGE"] and rows[1][:2] == ["cfg", "1"]
    secret = json.loads(kubectl("get", "secret", "sec", "-o", "json").stdout)
    assert secret["data"]["password"] == "czNjcjN0"
    err = kubectl("create", "configmap", "cfg", "--from-literal=a=1", check=False)
    assert err.returncode == 1
    assert 'configmaps "cfg" already exists' in err.stderr


def test_get_watch_sees_an_update(kubectl, apiserver: Cluster) -> None:  # type: ignore[no-untyped-def]
    kubectl("create", "configmap", "watched", "--from-literal=a=1")
    from harness import kubectl_binary

    proc = subprocess.Popen(
        [str(kubectl_binary(kubectl.version)), f"--kubeconfig={apiserver.kubeconfig}",
         f"--cache-dir={apiserver.cache_dir}", "get", "configmap", "watched", "-w", "-n", kubectl.ns,
         "--output-watch-events"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2.0)
        kubectl("label", "configmap", "watched", "x=y")
        time.sleep(1.5)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    lines = [line.split() for line in out.strip().splitlines()]
    assert lines[0][:3] == ["EVENT", "NAME", "DATA"], (out, err)
    events = [line[0] for line in lines[1:]]
    assert events[:2] == ["ADDED", "MODIFIED"], (out, err)


def test_api_resources_explain_cs_cluster_info(kubectl) -> None:  # type: ignore[no-untyped-def]
    out = kubectl("api-resources", namespaced=False).stdout
    rows = _lines(out)
    assert rows[0] == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    found = {row[0]: row for row in rows[1:]}
    assert found["deployments"] == ["deployments", "deploy", "apps/v1", "true", "Deployment"]
    assert found["pods"] == ["pods", "po", "v1", "true", "Pod"]
    assert found["persistentvolumes"] == ["persistentvolumes", "pv", "v1", "false", "PersistentVolume"]

    explained = kubectl("explain", "deployment.spec", namespaced=False).stdout
    assert re.search(r"^KIND:\s+Deployment$", explained, re.M)
    assert "replicas" in explained and "template" in explained

    cs = kubectl("get", "cs", namespaced=False)
    rows = _lines(cs.stdout)
    assert rows[0] == ["NAME", "STATUS", "MESSAGE", "ERROR"]
    assert {row[0] for row in rows[1:]} == {"scheduler", "controller-manager", "etcd-0"}
    assert "v1 ComponentStatus is deprecated in v1.19+" in cs.stderr

    info = re.sub(r"\x1b\[[0-9;]*m", "", kubectl("cluster-info", namespaced=False).stdout)
    assert re.search(r"Kubernetes control plane is running at https://127\.0\.0\.1:\d+", info)


def test_create_generators_send_protobuf_from_1_32(kubectl) -> None:  # type: ignore[no-untyped-def]
    """kubectl ≥ 1.32 sends these as protobuf; older ones as JSON. Both must create the same objects."""
    assert kubectl("create", "job", "once", "--image=busybox").stdout.strip() == "job.batch/once created"
    out = kubectl("create", "cronjob", "tick", "--image=busybox", "--schedule=*/5 * * * *")
    assert out.stdout.strip() == "cronjob.batch/tick created"
    out = kubectl("create", "service", "clusterip", "plain", "--tcp=8080:80")
    assert out.stdout.strip() == "service/plain created"
    out = kubectl("create", "service", "nodeport", "np", "--tcp=80:80")
    assert out.stdout.strip() == "service/np created"

    job = json.loads(kubectl("get", "job", "once", "-o", "json").stdout)
    uid = job["metadata"]["uid"]
    assert job["spec"]["backoffLimit"] == 6 and job["spec"]["completions"] == 1
    assert job["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    rows = _lines(kubectl("get", "cronjob", "tick").stdout)
    assert rows[0][:5] == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE"]
    assert rows[1][:5] == ["tick", "*/5 * * * *", "<none>", "False", "0"]
    svc = json.loads(kubectl("get", "svc", "np", "-o", "json").stdout)
    node_port = svc["spec"]["ports"][0]["nodePort"]
    assert 30000 <= node_port <= 32767
    rows = _lines(kubectl("get", "svc", "np", "plain").stdout)
    assert rows[1][1] == "NodePort" and rows[1][4] == f"80:{node_port}/TCP"
    assert rows[2][1] == "ClusterIP" and rows[2][4] == "8080/TCP"
