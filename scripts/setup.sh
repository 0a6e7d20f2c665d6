#!/usr/bin/env bash
# Sets up lstosa-snake on a fresh machine: two Python environments and graphviz.
#   .venv      Snakemake + executor plugins + the lstosa_snake package + test tools
#   .venv-lst  the lstchain/ctapipe tools + the lstosa_snake package (generator, work-arounds)
# Idempotent: re-running only installs what is missing. Needs python3 >= 3.11.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
py="${PYTHON:-python3}"

log() { printf '[setup] %s\n' "$*"; }

if ! "$py" -m uv --version >/dev/null 2>&1; then
    log "installing uv"
    "$py" -m pip install --quiet uv
fi
uv() { "$py" -m uv "$@"; }

make_env() {  # make_env DIR REQUIREMENTS
    local dir="$1" req="$2"
    [ -x "$dir/bin/python" ] || uv venv --quiet --python "$py" "$dir"
    log "installing $req into $dir"
    # --python, not VIRTUAL_ENV: `python -m uv` otherwise targets the interpreter that runs uv.
    # --reinstall-package: refresh our own entry points when pyproject.toml changed.
    uv pip install --quiet --python "$root/$dir/bin/python" -r "$req" -e "$root" --reinstall-package lstosa-snake
    # Bytecode: uv installs no .pyc files, and where PYTHONDONTWRITEBYTECODE is set (as on the
    # project machine) every tool start would compile lstchain/ctapipe/astropy from source again:
    # importing lstchain's r0_to_dl1 took 10.8 s instead of 4.7 s. compileall skips what is up to date.
    log "compiling bytecode in $dir"
    "$dir/bin/python" -m compileall -q -j 0 "$root/src" \
        "$("$dir/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" >/dev/null \
        || log "warning: some files in $dir did not compile (the tools still run, but start slower)"
}
make_env .venv envs/snakemake.txt
make_env .venv-lst envs/lstchain-tools.txt

# graphviz renders --dag / --rulegraph; optional when not root (then only DOT is written).
if ! command -v dot >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "installing graphviz"
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends graphviz >/dev/null
    else
        log "graphviz (dot) not found: --dag/--rulegraph rendering unavailable"
    fi
fi
# `snakemake --profile slurm` looks named profiles up in $XDG_CONFIG_HOME/snakemake (not in
# profiles/): link ours there unless the user already has a profile of that name.
profile_home="${XDG_CONFIG_HOME:-$HOME/.config}/snakemake"
if [ ! -e "$profile_home/slurm" ] && mkdir -p "$profile_home" 2>/dev/null; then  # absent or dangling
    ln -sfn "$root/profiles/slurm" "$profile_home/slurm" && log "linked $profile_home/slurm -> profiles/slurm" \
        || log "could not link $profile_home/slurm: use --profile profiles/slurm"
fi
log "done: activate with 'source .venv/bin/activate' (lstchain tools live in .venv-lst)"
