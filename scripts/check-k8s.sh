#!/usr/bin/env bash
# Renders every Kustomize overlay with kubectl's built-in kustomize and validates every object
# (and the Secret template) against the Kubernetes schemas with kubernetes-validate, offline.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${K8S_VERSION:-1.33.0}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for overlay in k8s/overlays/*/; do
  name="$(basename "$overlay")"
  kubectl kustomize "$overlay" > "$out/$name.yaml"
  echo "k8s: $name renders $(grep -c '^kind:' "$out/$name.yaml") objects"
done
kubernetes-validate --quiet --strict -k "$version" "$out"/*.yaml k8s/base/secret.template.yaml
echo "k8s: every manifest is valid for Kubernetes $version"
