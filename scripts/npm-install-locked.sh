#!/usr/bin/env bash
# Installs exactly what package-lock.json pins. `npm ci` first; a registry that serves only this
# platform's optional binaries (as the one these machines reach does) leaves the lock without the
# other platforms' entries, which `npm ci` rejects — then `npm install` installs from the same lock.
set -euo pipefail
log=$(mktemp)
if npm ci --no-audit --no-fund >"$log" 2>&1; then
  tail -n 3 "$log"
else
  if grep -q "EUSAGE" "$log"; then
    echo "npm ci rejected the lock file for other platforms' optional packages; installing from it with npm install"
    npm install --no-audit --no-fund
  else
    cat "$log" >&2
    exit 1
  fi
fi
rm -f "$log"
