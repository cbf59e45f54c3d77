#!/usr/bin/env bash
# Proves the wheel-based pre-commit hook: builds the `trustlint-azure` wheel from this
# checkout, makes a throwaway mirror repository from pre-commit-mirror/, and runs the
# real pre-commit against it in a throwaway project with nothing from the package index
# (PIP_NO_INDEX=1, PIP_FIND_LINKS=<the wheels built here>): a commit of a bad template is
# refused, the fixed one is committed. The output is recorded in docs/pre-commit.md.
#
# Usage: scripts/pre-commit-proof.sh    (needs python3, git, cargo; the package index
#        only to install the tools, pre-commit and maturin, before the proof starts)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$repo/Cargo.toml" | head -n 1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The tools, from the index.
python3 -m venv "$work/tools" >/dev/null
"$work/tools/bin/pip" install --quiet 'pre-commit==4.3.0' 'maturin>=1.5,<2'
export PATH="$work/tools/bin:$PATH"
echo "\$ pre-commit --version"
pre-commit --version

# The wheels the hook may install: trustlint-azure built here, and the build backend the
# mirror package declares.
dist="$work/dist"
(cd "$repo" && maturin build --release --locked --quiet --out "$dist" 2>/dev/null)
pip download --quiet --no-deps --dest "$dist" 'setuptools>=61' 'wheel'
echo "\$ ls dist"
ls "$dist" | sed -E 's/-[0-9]+\.[0-9.]+-py3-none-any/-<version>-py3-none-any/'

# The mirror, as the release workflow generates it.
mirror="$work/mirror"
cp -r "$repo/pre-commit-mirror" "$mirror"
sed -i.orig "s/@VERSION@/$version/g" "$mirror/pyproject.toml" "$mirror/README.md"
rm -f "$mirror"/*.orig
git -C "$mirror" init --quiet
git -C "$mirror" add -A
git -C "$mirror" -c user.email=proof@example.invalid -c user.name=proof commit --quiet -m "trustlint $version"
git -C "$mirror" tag "v$version"

# Nothing from the index from here on.
export PIP_NO_INDEX=1 PIP_FIND_LINKS="$dist" PRE_COMMIT_HOME="$work/cache"

project="$work/project"
mkdir -p "$project/infra"
cd "$project"
git init --quiet
git config user.email proof@example.invalid
git config user.name "pre-commit proof"
cat > .pre-commit-config.yaml <<YAML
repos:
  - repo: $mirror
    rev: v$version
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
echo "\$ git commit -m 'storage account'   # bypass: AzureServices, in INFRA.JSON"
template AzureServices > infra/STORAGE.JSON
git add infra/STORAGE.JSON
set +e
git commit -m "storage account" 2>&1 | sed "s|$work|<tmp>|g"
code=${PIPESTATUS[0]}
set -e
if [ "$code" -eq 0 ]; then
  echo "UNEXPECTED: the commit of a bad template passed" >&2
  exit 1
fi
echo "(the commit was refused: git exit code $code)"

echo
echo "\$ git commit -m 'storage account'   # bypass: None"
template None > infra/STORAGE.JSON
git add infra/STORAGE.JSON
git commit -m "storage account" 2>&1 | sed -e "s|$work|<tmp>|g" -e 's/^\[\([a-z]*\) [0-9a-f]*\]/[\1 <sha>]/'
echo "(the commit passed)"
git log --oneline | sed 's/^[0-9a-f]* /<sha> /'
