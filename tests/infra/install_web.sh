#!/usr/bin/env bash
# Install the Debian packages the web tests need (nginx with the WebDAV module,
# headless chromium, fonts for readable screenshots). Idempotent, quiet, and fast
# when everything is already installed. Needs root (or sudo) and the Debian mirrors.
set -euo pipefail

pkgs=(nginx chromium fonts-dejavu-core)

missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-qq -o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0)
# Refresh the lists only when they are absent or older than a day.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
    $SUDO apt-get "${apt_opts[@]}" update >/dev/null 2>&1 || true
fi
echo "install_web.sh: installing ${missing[*]}" >&2
log=$(mktemp)
if ! $SUDO apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    exit 1
fi
rm -f "$log"
# Debian enables and starts the packaged nginx on port 80 on install; the tests run
# their own instance, so stop the system one if it was started (no-op otherwise).
if command -v service >/dev/null 2>&1 && [ -f /run/nginx.pid ]; then
    $SUDO service nginx stop >/dev/null 2>&1 || true
fi
