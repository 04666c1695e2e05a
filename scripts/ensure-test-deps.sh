#!/usr/bin/env bash
# Everything `npm test` needs beyond node_modules, installed only when missing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

bash "$here/ensure-chromium.sh"
if [ -f "$here/ensure-postgres.sh" ]; then
  bash "$here/ensure-postgres.sh"
fi
