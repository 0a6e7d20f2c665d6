#!/usr/bin/env bash
# LSTOSA's own code as the reference of our product tree (issue 22; tests/lstosa_reference.py):
# lstosa 0.11.10 from the package index, WITHOUT its dependencies (the tools' environment .venv-lst
# already has lstchain, ctapipe, astropy, gammapy), into the plain directory .cache/lstosa-reference/,
# which the checker puts on sys.path. Idempotent: returns at once when that version is there.
# Prints the directory.
#   bash scripts/install_lstosa_reference.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="0.11.10"
target="$root/.cache/lstosa-reference"

if [ ! -f "$target/osa/paths.py" ] || [ ! -d "$target/lstosa-$version.dist-info" ]; then
    if command -v uv >/dev/null 2>&1; then uv=(uv); else uv=("${PYTHON:-python3}" -m uv); fi
    # --target only needs an interpreter for the platform tags: the tools' one when set up.
    py="$root/.venv-lst/bin/python"
    [ -x "$py" ] || py="${PYTHON:-python3}"
    mkdir -p "$root/.cache"
    # Installed beside, then moved in: a concurrent caller (pytest workers) never sees half a tree.
    tmp="$(mktemp -d "$target.tmp.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    "${uv[@]}" pip install --quiet --no-deps --python "$py" --target "$tmp" "lstosa==$version" >&2
    if [ -e "$target" ] && [ ! -d "$target/lstosa-$version.dist-info" ]; then rm -rf "$target"; fi  # another version
    # A concurrent caller may have won the race: its copy is the same.
    mv -T "$tmp" "$target" 2>/dev/null || [ -d "$target/lstosa-$version.dist-info" ]
fi
echo "$target"
