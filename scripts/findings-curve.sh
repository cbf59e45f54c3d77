#!/usr/bin/env bash
# How linting time grows with the number of findings in one template (docs/performance.md).
#   scripts/findings-curve.sh [N ...]     default: 5000 20000 40000 200000
# Each template holds N storage accounts that are locked down with the trusted-services
# bypass: N STG001 findings in one file. Needs python3 to write the templates.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -q
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(5000 20000 40000 200000)
for n in "${sizes[@]}"; do
  python3 - "$n" "$dir/t$n.json" <<'PY'
import json, sys
n, path = int(sys.argv[1]), sys.argv[2]
schema = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
resources = [{"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-05-01",
              "name": f"st{i}", "location": "westeurope",
              "properties": {"networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices"}}}
             for i in range(n)]
json.dump({"$schema": schema, "contentVersion": "1.0.0.0", "resources": resources}, open(path, "w"), indent=1)
PY
  for format in json human; do
    /usr/bin/time -f "$n findings, $format: %e s wall, %U s user, %M KiB peak" \
      ./target/release/trustlint check "$dir/t$n.json" --no-config --as-of 2026-11-30 \
      --format "$format" -o "$dir/out" || true
  done
done
