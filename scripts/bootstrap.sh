#!/usr/bin/env bash
# Install whatever is missing for geoservice, and nothing else. Safe to run again.
#   scripts/bootstrap.sh run    system packages, virtualenv with the package, web assets
#   scripts/bootstrap.sh test   the same plus the test tools, Debian's chromium for browser tests and
#                               pg_auto_failover (the failover test)
#   scripts/bootstrap.sh ha     run, plus pg_auto_failover for `./dev ha`
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-run}"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# --- system packages (Debian) ---------------------------------------------------------------------------------
packages=()
if [ -z "${GEOSERVICE_DATABASE_URL:-}" ]; then
  packages+=(postgresql-15 postgresql-15-postgis-3 postgresql-contrib)
fi
python3 -c 'import ensurepip, venv' 2>/dev/null || packages+=(python3-venv)
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
if [ "$mode" = "test" ]; then
  packages+=(chromium)
fi
if [ "$mode" = "test" ] || [ "$mode" = "ha" ]; then
  packages+=(postgresql-15-auto-failover)
fi
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing system packages: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then sudo_cmd=(); elif command -v sudo >/dev/null; then sudo_cmd=(sudo); else
    echo "error: need root (or sudo) to install: ${missing[*]}" >&2; exit 1
  fi
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- virtualenv -------------------------------------------------------------------------------------------------
extras="."
[ "$mode" = "test" ] && extras=".[test]"
stamp=".venv/.geoservice-installed"
want="$(sha256sum pyproject.toml | cut -d' ' -f1) $extras"
if [ ! -x .venv/bin/python ]; then
  say "creating the virtualenv in .venv"
  python3 -m venv .venv
fi
if [ ! -f "$stamp" ] || ! grep -qxF "$want" "$stamp"; then
  say "installing geoservice into .venv ($extras)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$extras"
  echo "$want" > "$stamp"
fi

# --- web assets from the npm registry (served locally; no CDN at run time) --------------------------------------
if [ ! -f web/node_modules/.package-lock.json ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
  say "installing web assets (npm ci in web/)"
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi
