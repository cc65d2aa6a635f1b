"""CustomResourceDefinitions through the real kubectl 1.27, 1.32 and 1.33 and the official Python client.

One namespaced CRD (printer columns, status and scale subresources, short name, categories) is created once per
module; each kubectl version works on custom resources in a namespace of its own.  Deleting a CRD is tested on a
second CRD so the shared one stays served.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness import ApiServer, Cluster

VERSIONS = ("1.27", "1.32", "1.33")
GROUP = "stable.example.com"
AGE = re.compile(r"\d+s|\d+m\d*s?")

CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names:
    plural: crontabs
    singular: crontab
    kind: CronTab
    shortNames: [ct]
    categories: [all, example]
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              cronSpec: {type: string}
              image: {type: string}
              replicas: {type: integer}
          status:
            type: object
            properties:
              replicas: {type: integer}
              labelSelector: {type: string}
              phase: {type: string}
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
        labelSelectorPath: .status.labelSelector
    additionalPrinterColumns:
    - name: Spec
      type: string
      jsonPath: .spec.cronSpec
    - name: Replicas
      type: integer
      jsonPath: .spec.replicas
    - name: Phase
      type: string
      jsonPath: .status.phase
    - name: Image
      type: string
      priority: 1
      jsonPath: .spec.image
    - name: Age
      type: date
      jsonPath: .metadata.creationTimestamp
"""

CR = """
apiVersion: stable.example.com/v1
kind: CronTab
metadata:
  name: {name}
  labels: {{team: a}}
spec:
  cronSpec: "* * * * */5"
  image: my-cron-image
  replicas: 1
"""


def _columns(text: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in text.strip().splitlines()]


def _wait_served(cluster: Cluster, plural: str, version: str) -> None:
    deadline = time.monotonic() + 10
    while True:
        out = cluster.kubectl("get", plural, "-A", version=version, check=False)
        if out.returncode == 0:
            return
        assert time.monotonic() < deadline, out.stderr
        time.sleep(0.2)


@pytest.fixture(scope="module")
def crd_cluster(apiserver_process: ApiServer, tmp_path_factory: pytest.TempPathFactory) -> Cluster:
    """The module server with the CronTab CRD established."""
    apiserver_process.ensure_running()
    cluster = Cluster(apiserver_process, Path(tmp_path_factory.mktemp("crd-setup")))
    out = cluster.kubectl("apply", "-f", "-", input=CRD)
    assert out.stdout.strip() == f"customresourcedefinition.apiextensions.k8s.io/crontabs.{GROUP} created"
    deadline = time.monotonic() + 10
    while "crontabs.stable.example.com" not in cluster.kubectl("get", "crd").stdout:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    _wait_served(cluster, "crontabs", "1.32")
    return cluster


class Kubectl:
    def __init__(self, cluster: Cluster, version: str, ns: str) -> None:
        self.cluster, self.version, self.ns = cluster, version, ns

    def __call__(self, *args: str, check: bool = True, input: str | None = None,
                 namespaced: bool = True) -> subprocess.CompletedProcess[str]:
        extra = ("-n", self.ns) if namespaced else ()
        return self.cluster.kubectl(*args, *extra, version=self.version, check=check, input=input)


@pytest.fixture(params=VERSIONS)
def kubectl(request: pytest.FixtureRequest, crd_cluster: Cluster, tmp_path: Path) -> Kubectl:
    version: str = request.param
    ns = "crd" + version.replace(".", "")
    cluster = Cluster(crd_cluster.server, tmp_path / "kube-cache")
    k = Kubectl(cluster, version, ns)
    if k("get", "namespace", ns, check=False, namespaced=False).returncode != 0:
        k("create", "namespace", ns, namespaced=False)
    return k


def test_get_crd_table(kubectl: Kubectl) -> None:
    rows = _columns(kubectl("get", "crd", "crontabs.stable.example.com", namespaced=False).stdout)
    assert rows[0] == ["NAME", "CREATED AT"]
    assert rows[1][0] == "crontabs.stable.example.com"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rows[1][1])
    crd = json.loads(kubectl("get", "crd", "crontabs.stable.example.com", "-o", "json", namespaced=False).stdout)
    conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
    assert conditions["Established"] == "True" and conditions["NamesAccepted"] == "True"
    assert crd["status"]["acceptedNames"]["shortNames"] == ["ct"]
    assert crd["status"]["storedVersions"] == ["v1"]


def test_custom_resource_lifecycle(kubectl: Kubectl) -> None:
    out = kubectl("apply", "-f", "-", input=CR.format(name="my-cron"))
    assert out.stdout.strip() == f"crontab.{GROUP}/my-cron created"
    assert kubectl("apply", "-f", "-", input=CR.format(name="my-cron")).stdout.strip() == (
        f"crontab.{GROUP}/my-cron unchanged")

    for resource in ("crontabs", "ct", "crontab", f"crontabs.{GROUP}", f"crontabs.v1.{GROUP}"):
        rows = _columns(kubectl("get", resource).stdout)
        assert rows[0] == ["NAME", "SPEC", "REPLICAS", "PHASE", "AGE"], resource
        assert rows[1][:3] == ["my-cron", "* * * * */5", "1"] and AGE.fullmatch(rows[1][-1]), rows
    wide = kubectl("get", "ct", "my-cron", "-o", "wide").stdout.splitlines()
    assert re.split(r"\s{2,}", wide[0].strip()) == ["NAME", "SPEC", "REPLICAS", "PHASE", "IMAGE", "AGE"]
    assert "my-cron-image" in wide[1]

    obj = yaml.safe_load(kubectl("get", "ct", "my-cron", "-o", "yaml").stdout)
    assert obj["apiVersion"] == f"{GROUP}/v1" and obj["kind"] == "CronTab"
    assert obj["spec"] == {"cronSpec": "* * * * */5", "image": "my-cron-image", "replicas": 1}
    assert obj["metadata"]["labels"] == {"team": "a"} and obj["metadata"]["namespace"] == kubectl.ns
    assert kubectl("get", "ct", "-o", "name").stdout.split() == [f"crontab.{GROUP}/my-cron"]

    out = kubectl("patch", "ct", "my-cron", "--type=merge", "-p", '{"spec":{"image":"v2"}}')
    assert out.stdout.strip() == f"crontab.{GROUP}/my-cron patched"
    status = {"status": {"phase": "Running", "replicas": 1, "labelSelector": "team=a"}}
    out = kubectl("patch", "ct", "my-cron", "--subresource=status", "--type=merge", "-p", json.dumps(status))
    assert out.stdout.strip() == f"crontab.{GROUP}/my-cron patched"
    # the main resource ignores status changes when the status subresource is on
    kubectl("patch", "ct", "my-cron", "--type=merge", "-p", '{"status":{"phase":"Ignored"}}')
    out = kubectl("scale", "ct", "my-cron", "--replicas=3")
    assert out.stdout.strip() == f"crontab.{GROUP}/my-cron scaled"

    rows = _columns(kubectl("get", "ct", "my-cron").stdout)
    assert rows[1][:4] == ["my-cron", "* * * * */5", "3", "Running"]
    obj = json.loads(kubectl("get", "ct", "my-cron", "-o", "json").stdout)
    assert obj["spec"]["image"] == "v2" and obj["spec"]["replicas"] == 3
    assert obj["status"] == {"phase": "Running", "replicas": 1, "labelSelector": "team=a"}
    scale = json.loads(kubectl("get", "--raw",
                               f"/apis/{GROUP}/v1/namespaces/{kubectl.ns}/crontabs/my-cron/scale",
                               namespaced=False).stdout)
    assert scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    assert scale["spec"] == {"replicas": 3} and scale["status"]["replicas"] == 1

    sections = kubectl("get", "all").stdout
    assert f"crontab.{GROUP}/my-cron" in sections
    rows = _columns(kubectl("get", "example").stdout)  # one kind in the category: no kind prefix
    assert rows[0][:2] == ["NAME", "SPEC"] and rows[1][0] == "my-cron"

    out = kubectl("delete", "ct", "my-cron")
    assert out.stdout.strip() == f'crontab.{GROUP} "my-cron" deleted'
    err = kubectl("get", "ct", "my-cron", check=False)
    assert err.returncode == 1
    assert err.stderr.strip() == f'Error from server (NotFound): crontabs.{GROUP} "my-cron" not found'


def test_custom_resource_generation(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", input=CR.format(name="gen"))
    assert json.loads(kubectl("get", "ct", "gen", "-o", "json").stdout)["metadata"].get("generation") == 1
    kubectl("patch", "ct", "gen", "--type=merge", "-p", '{"spec":{"image":"v2"}}')
    assert json.loads(kubectl("get", "ct", "gen", "-o", "json").stdout)["metadata"].get("generation") == 2


def test_custom_resource_scale_selector(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", input=CR.format(name="sel"))
    kubectl("patch", "ct", "sel", "--subresource=status", "--type=merge", "-p",
            '{"status":{"replicas":1,"labelSelector":"team=a"}}')
    scale = json.loads(kubectl("get", "--raw", f"/apis/{GROUP}/v1/namespaces/{kubectl.ns}/crontabs/sel/scale",
                               namespaced=False).stdout)
    assert scale["status"] == {"replicas": 1, "selector": "team=a"}


def test_server_side_apply_custom_resource(kubectl: Kubectl) -> None:
    manifest = CR.format(name="ssa")
    out = kubectl("apply", "--server-side", "-f", "-", input=manifest)
    assert out.stdout.strip() == f"crontab.{GROUP}/ssa serverside-applied"
    out = kubectl("apply", "--server-side", "-f", "-", input=manifest.replace("replicas: 1", "replicas: 2"))
    assert out.stdout.strip() == f"crontab.{GROUP}/ssa serverside-applied"
    obj = json.loads(kubectl("get", "ct", "ssa", "-o", "json", "--show-managed-fields").stdout)
    assert obj["spec"]["replicas"] == 2
    assert ("kubectl", "Apply") in {(m["manager"], m["operation"]) for m in obj["metadata"]["managedFields"]}
    kubectl("delete", "ct", "ssa")


def test_invalid_custom_resource(kubectl: Kubectl) -> None:
    bad = CR.format(name="bad").replace("replicas: 1", "replicas: many")
    err = kubectl("create", "-f", "-", input=bad, check=False)
    assert err.returncode == 1
    assert 'The CronTab "bad" is invalid: spec.replicas: Invalid value: "string": spec.replicas in body must be ' \
        'of type integer: "string"' in err.stderr


def test_watch_with_custom_objects_api(crd_cluster: Cluster) -> None:
    from kubernetes import client, watch

    ns = "crdwatch"
    crd_cluster.kubectl("create", "namespace", ns, check=False)
    api_client = crd_cluster.server.api_client()
    try:
        api = client.CustomObjectsApi(api_client)
        body: dict[str, Any] = yaml.safe_load(CR.format(name="watched"))
        created = api.create_namespaced_custom_object(GROUP, "v1", ns, "crontabs", body)
        assert created["metadata"]["name"] == "watched"
        listed = api.list_namespaced_custom_object(GROUP, "v1", ns, "crontabs")
        rv = listed["metadata"]["resourceVersion"]
        events: list[tuple[str, dict[str, Any]]] = []

        def watch_events() -> None:
            w = watch.Watch()
            for event in w.stream(api.list_namespaced_custom_object, GROUP, "v1", ns, "crontabs",
                                  resource_version=rv, timeout_seconds=10):
                events.append((event["type"], event["object"]))
                if len(events) == 2:
                    w.stop()

        thread = threading.Thread(target=watch_events)
        thread.start()
        time.sleep(0.5)
        api.patch_namespaced_custom_object(GROUP, "v1", ns, "crontabs", "watched", {"spec": {"image": "v3"}})
        api.delete_namespaced_custom_object(GROUP, "v1", ns, "crontabs", "watched")
        thread.join(15)
        assert not thread.is_alive()
        assert [t for t, _ in events] == ["MODIFIED", "DELETED"]
        assert events[0][1]["spec"]["image"] == "v3" and events[0][1]["kind"] == "CronTab"
    finally:
        api_client.close()


WIDGET_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.org
spec:
  group: example.org
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"""


def test_deleting_the_crd_stops_serving(crd_cluster: Cluster) -> None:
    k = crd_cluster
    k.kubectl("apply", "-f", "-", input=WIDGET_CRD)
    _wait_served(k, "widgets", "1.32")
    k.kubectl("apply", "-n", "default", "-f", "-",
              input="apiVersion: example.org/v1\nkind: Widget\nmetadata: {name: w1}\nsize: 3\n")
    rows = _columns(k.kubectl("get", "widgets", "-n", "default").stdout)
    assert rows[0] == ["NAME", "AGE"] and rows[1][0] == "w1"
    out = k.kubectl("delete", "crd", "widgets.example.org")
    assert out.stdout.strip() == 'customresourcedefinition.apiextensions.k8s.io "widgets.example.org" deleted'
    for version in VERSIONS:
        # a fresh discovery cache per run: the resource is gone from discovery
        err = k.server.kubectl("get", "widgets", "-n", "default", version=version, check=False)
        assert err.returncode == 1
        assert err.stderr.strip() == 'error: the server doesn\'t have a resource type "widgets"', err.stderr
    status, _ = k.get("/apis/example.org/v1/namespaces/default/widgets")
    assert status == 404
