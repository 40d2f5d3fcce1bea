#!/usr/bin/env bash
# Installs what the console's browser tests need: Debian's chromium (the tests drive it with
# playwright-core; no browser download) and the pinned npm packages of tests/e2e (its lock file).
# Does nothing when they are already there.
set -euo pipefail
cd "$(dirname "$0")/.."

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

apt_install() {
  local sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get install -y -q "$@" >/dev/null ||
    { "${sudo[@]}" apt-get update -q >/dev/null && "${sudo[@]}" apt-get install -y -q "$@" >/dev/null; }
}

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "==> installing Node.js and npm (Debian packages)"
  apt_install nodejs npm
fi
if [ ! -x "$CHROMIUM" ]; then
  echo "==> installing chromium (Debian package)"
  apt_install chromium
fi
want=$(node -p 'require("./tests/e2e/package.json").devDependencies["playwright-core"]')
have=$(node -p 'try { require("./tests/e2e/node_modules/playwright-core/package.json").version } catch { "" }')
if [ "$want" != "$have" ]; then
  echo "==> installing tests/e2e's npm packages (playwright-core $want)"
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
echo "==> browser tests ready: $("$CHROMIUM" --version 2>/dev/null | head -1), playwright-core $want"
