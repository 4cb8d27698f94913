#!/usr/bin/python3
"""check_k8s.py RENDERED.yaml - every object `helm template` rendered, checked against the
Kubernetes API types of Debian's python3-kubernetes: an unknown field or a value of the wrong
type anywhere in an object is an error (kubectl cannot validate without an API server).
Prometheus Operator objects (not in those models) are checked against their few fields here.
Prints one line per error and exits 1 on any; prints the kinds checked otherwise."""
import re
import sys

import yaml
from kubernetes import client

KINDS = {
    ("v1", "ConfigMap"): client.V1ConfigMap,
    ("v1", "Secret"): client.V1Secret,
    ("v1", "Service"): client.V1Service,
    ("v1", "ServiceAccount"): client.V1ServiceAccount,
    ("apps/v1", "DaemonSet"): client.V1DaemonSet,
    ("apps/v1", "Deployment"): client.V1Deployment,
}
PRIMITIVE = {"str": str, "int": int, "bool": bool, "float": (int, float), "datetime": str,
             "date": str, "object": object}
errors = []


def check(value, typ, path):
    """typ is an openapi type name of the models: 'str', 'list[V1Container]', 'dict(str, str)'."""
    if value is None:
        return
    m = re.match(r"list\[(.+)\]$", typ)
    if m:
        if not isinstance(value, list):
            errors.append(f"{path}: a list expected, got {type(value).__name__}")
            return
        for i, v in enumerate(value):
            check(v, m.group(1), f"{path}[{i}]")
        return
    m = re.match(r"dict\(([^,]+), (.+)\)$", typ)
    if m:
        if not isinstance(value, dict):
            errors.append(f"{path}: a map expected, got {type(value).__name__}")
            return
        for k, v in value.items():
            check(v, m.group(2), f"{path}.{k}")
        return
    if typ in PRIMITIVE:
        want = PRIMITIVE[typ]
        if typ == "str" and isinstance(value, (int, float)) and not isinstance(value, bool):
            # IntOrString fields (ports, maxUnavailable) are modelled as str
            return
        if want is not object and (not isinstance(value, want) or
                                   (typ == "int" and isinstance(value, bool))):
            errors.append(f"{path}: {typ} expected, got {value!r}")
        return
    model = getattr(client, typ, None)
    if model is None:
        errors.append(f"{path}: unknown model {typ}")
        return
    if not isinstance(value, dict):
        errors.append(f"{path}: an object ({typ}) expected, got {value!r}")
        return
    by_json = {j: a for a, j in model.attribute_map.items()}
    for k, v in value.items():
        if k not in by_json:
            errors.append(f"{path}.{k}: no such field in {typ}")
            continue
        check(v, model.openapi_types[by_json[k]], f"{path}.{k}")


def check_monitor(doc, path):
    spec = doc.get("spec", {})
    allowed = {"ServiceMonitor": {"selector", "endpoints", "namespaceSelector", "jobLabel"},
               "PodMonitor": {"selector", "podMetricsEndpoints", "namespaceSelector", "jobLabel"}}
    for k in spec:
        if k not in allowed[doc["kind"]]:
            errors.append(f"{path}.spec.{k}: no such field in {doc['kind']}")
    key = "endpoints" if doc["kind"] == "ServiceMonitor" else "podMetricsEndpoints"
    for i, ep in enumerate(spec.get(key, [])):
        for k in ep:
            if k not in {"port", "path", "interval", "scheme", "scrapeTimeout", "relabelings"}:
                errors.append(f"{path}.spec.{key}[{i}].{k}: no such field")
    check(spec.get("selector"), "V1LabelSelector", f"{path}.spec.selector")


kinds = []
for n, doc in enumerate(yaml.safe_load_all(open(sys.argv[1]))):
    if not doc:
        continue
    path = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
    kinds.append(doc.get("kind"))
    if doc.get("apiVersion") == "monitoring.coreos.com/v1":
        check_monitor(doc, path)
        continue
    model = KINDS.get((doc.get("apiVersion"), doc.get("kind")))
    if not model:
        errors.append(f"{path}: unexpected kind {doc.get('apiVersion')} {doc.get('kind')}")
        continue
    check(doc, model.__name__, path)
for e in errors:
    print(e)
if errors:
    sys.exit(1)
print(f"{len(kinds)} object(s) valid: {', '.join(sorted(set(kinds)))}")
