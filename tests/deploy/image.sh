# image.sh - the container image, sourced by run.sh: a Debian 12 base made offline-capable by
# mmdebstrap from the host's apt sources (cached in $BUILD/image), the Dockerfile built by
# podman on it, and `ticktap analyze` run inside (no network) on a generated capture: the
# same summary as the host's binary. Needs root and podman (make deps installs it).
section "container image: built by podman, ticktap analyze inside it"
IMG="$BUILD/image"
export CONTAINERS_CONF="$ROOT/tests/deploy/containers.conf" # runc, cgroupfs: see PLATFORM.md
if [ "$(id -u)" -ne 0 ] || ! command -v podman > /dev/null || ! command -v mmdebstrap > /dev/null; then
    skip "container image" "needs root, podman and mmdebstrap (make deps installs them)"
else
    mkdir -p "$IMG"
    if ! podman image exists localhost/bookworm-minbase; then
        src=() # the host's mirror when it has one, else Debian's default
        [ -f /etc/apt/sources.list.d/debian.sources ] && src=(/etc/apt/sources.list.d/debian.sources)
        [ -s "$IMG/base.tar" ] || mmdebstrap --quiet --variant=minbase \
            --aptopt='Acquire::Check-Valid-Until "false"' bookworm "$IMG/base.tar" \
            "${src[@]}" > "$WORK/mm.log" 2>&1 || rm -f "$IMG/base.tar"
        [ -s "$IMG/base.tar" ] && podman import -q "$IMG/base.tar" localhost/bookworm-minbase > /dev/null
    fi
    if ! podman image exists localhost/bookworm-minbase; then
        bad "a Debian 12 base image: mmdebstrap failed: $(tail -3 "$WORK/mm.log" 2> /dev/null)"
    else
        t0=$SECONDS
        if podman build -q --pull=never --build-arg BASE=localhost/bookworm-minbase \
            -t localhost/ticktap:test -f "$ROOT/Dockerfile" "$ROOT" > "$WORK/build.log" 2>&1; then
            ok "the image builds from the Dockerfile ($((SECONDS - t0)) s)"
            mkdir -p "$WORK/data" && cp "$WORK/demo.pcap" "$WORK/data/" && chmod -R a+rX "$WORK/data"
            podman run --rm --network=none -v "$WORK/data:/data:ro" localhost/ticktap:test \
                analyze -q -s - /data/demo.pcap > "$WORK/in.json" 2> "$WORK/in.err"
            "$TT" analyze -q -s "$WORK/host.json" "$WORK/demo.pcap"
            check "ticktap analyze inside the image (no network, non-root) gives the host's summary" $PY - "$WORK/in.json" "$WORK/host.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
for k in ("packets", "bytes", "flows", "tcp_analysis", "events", "trading"):
    assert a.get(k) == b.get(k), (k, a.get(k), b.get(k))
PY
            podman image inspect localhost/ticktap:test > "$WORK/inspect.json"
            check "the image: labels, a non-root user, the default config, BPF object and schemas" $PY - "$WORK/inspect.json" <<'PY'
import json, sys
i = json.load(open(sys.argv[1]))[0]
cfg = i["Config"]
labels = cfg.get("Labels", {})
for k in ("org.opencontainers.image.title", "org.opencontainers.image.version", "org.opencontainers.image.source"):
    assert labels.get(k), k
assert cfg["User"] == "10001" and cfg["Entrypoint"] == ["/usr/bin/ticktap"], cfg
PY
            check "the image holds the default config, the BPF object and the schemas" \
                podman run --rm --network=none --entrypoint /bin/sh localhost/ticktap:test -c \
                'test -s /etc/ticktap/ticktap.yaml && test -s /usr/lib/ticktap/ticktap.bpf.o && test -s /usr/share/ticktap/schemas/incident.schema.json && /usr/bin/ticktap run --check-config -c /etc/ticktap/ticktap.yaml'
            podman rmi -f localhost/ticktap:test > /dev/null 2>&1
            podman image prune -f > /dev/null 2>&1
        else
            bad "the image builds from the Dockerfile: $(tail -5 "$WORK/build.log")"
        fi
    fi
fi
