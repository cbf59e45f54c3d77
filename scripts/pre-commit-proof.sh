#!/usr/bin/env bash
# Proves the pre-commit hook works: installs the real pre-commit from PyPI into a
# throwaway virtualenv, makes a throwaway git repository that uses this repository
# (at its HEAD commit) as the hook source, and shows a commit of a bad template being
# refused and the fixed template being committed. The output is recorded in
# docs/pre-commit.md.
#
# Usage: scripts/pre-commit-proof.sh        (needs python3, git, cargo and the
#        crate registry: pre-commit builds the hook with `cargo install`)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
rev=$(git -C "$repo" rev-parse HEAD)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/venv" >/dev/null
"$work/venv/bin/pip" install --quiet 'pre-commit==4.3.0'
export PATH="$work/venv/bin:$PATH"
export PRE_COMMIT_HOME="$work/cache"
echo "\$ pre-commit --version"
pre-commit --version

project="$work/project"
mkdir -p "$project/infra"
cd "$project"
git init --quiet
git config user.email proof@example.invalid
git config user.name "pre-commit proof"
cat > .pre-commit-config.yaml <<YAML
repos:
  - repo: $repo
    rev: $rev
    hooks:
      - id: trustlint
        args: [--as-of, "2026-11-23"]
YAML
git add .pre-commit-config.yaml
git commit --quiet -m "pre-commit config"
pre-commit install

template() { # $1: the storage account's bypass
  cat <<JSON
{
  "\$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "resources": [
    {
      "type": "Microsoft.Storage/storageAccounts",
      "apiVersion": "2023-05-01",
      "name": "stcontosologs",
      "location": "westeurope",
      "sku": { "name": "Standard_LRS" },
      "kind": "StorageV2",
      "properties": {
        "networkAcls": { "defaultAction": "Deny", "bypass": "$1" }
      }
    }
  ]
}
JSON
}

echo
echo "\$ git commit -m 'storage account'   # bypass: AzureServices"
template AzureServices > infra/storage.json
git add infra/storage.json
set +e
git commit -m "storage account" 2>&1
code=$?
set -e
if [ "$code" -eq 0 ]; then
  echo "UNEXPECTED: the commit of a bad template passed" >&2
  exit 1
fi
echo "(the commit was refused: git exit code $code)"

echo
echo "\$ git commit -m 'storage account'   # bypass: None"
template None > infra/storage.json
git add infra/storage.json
git commit -m "storage account" 2>&1
echo "(the commit passed)"
git log --oneline | sed 's/^[0-9a-f]* /<sha> /'
