#!/usr/bin/env bash
# Build the execution environment of awx/execution-environment.yml.
#   awx/build-ee.sh [tag]             (default tag: mailprivacy/gdpr-ee:latest)
#   CREATE_ONLY=1 awx/build-ee.sh     only write the build context (.build/ee/context), no image
# Needs ansible-builder (pip install ansible-builder) and podman; the build itself pulls the
# base image and Galaxy collections, so it needs a registry and Galaxy.
set -euo pipefail
cd "$(dirname "$0")/.."
tag="${1:-mailprivacy/gdpr-ee:latest}"
out=.build/ee
rm -rf "$out" && mkdir -p "$out"
ansible-galaxy collection build --force --output-path "$out" . >/dev/null
mv "$out"/mailprivacy-gdpr-*.tar.gz "$out/mailprivacy-gdpr.tar.gz"
if [ "${CREATE_ONLY:-0}" = 1 ]; then
  exec ansible-builder create -f awx/execution-environment.yml -c "$out/context"
fi
exec ansible-builder build -f awx/execution-environment.yml -c "$out/context" -t "$tag" --container-runtime podman
