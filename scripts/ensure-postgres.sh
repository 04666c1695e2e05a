#!/usr/bin/env bash
# Makes sure PostgreSQL's server binaries (initdb, pg_ctl, postgres) are on this machine, for the
# throwaway servers that tests, benchmarks and `scripts/scale-out.sh` start themselves.
#
# Idempotent: does nothing when the binaries are already there. Otherwise installs Debian's
# `postgresql` package (CI machines are fresh Debian 12 with only Node). We run our own clusters in
# temp directories, so the cluster Debian creates and starts on install is stopped and kept from
# starting: it would only hold port 5432 and memory.
set -euo pipefail

find_bin_dir() {
  local dir
  if [[ -n "${PG_BIN:-}" && -x "${PG_BIN}/pg_ctl" ]]; then
    echo "$PG_BIN"
    return 0
  fi
  # Newest version first.
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/postgres" ]]; then
      echo "$dir"
      return 0
    fi
  done
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"
    return 0
  fi
  return 1
}

if bin_dir="$(find_bin_dir)"; then
  echo "ensure-postgres: using $bin_dir" >&2
  exit 0
fi

if [[ "$(id -u)" != "0" ]]; then
  echo "ensure-postgres: PostgreSQL is not installed and this is not root; install Debian's 'postgresql' package (or set PG_BIN)" >&2
  exit 1
fi

echo "ensure-postgres: installing Debian's postgresql package" >&2
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d exit 101 tells Debian's maintainer scripts not to start services during the install.
policy=/usr/sbin/policy-rc.d
had_policy=0
[[ -e "$policy" ]] && had_policy=1
if [[ "$had_policy" == 0 ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
fi
cleanup_policy() { [[ "$had_policy" == 0 ]] && rm -f "$policy"; }
trap cleanup_policy EXIT

apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends postgresql >/dev/null

# Whatever the policy did, make sure Debian's own cluster is not running and will not start.
if command -v pg_lsclusters >/dev/null 2>&1; then
  while read -r version name _rest; do
    [[ -z "$version" ]] && continue
    pg_ctlcluster "$version" "$name" stop >/dev/null 2>&1 || true
    conf="/etc/postgresql/$version/$name/start.conf"
    [[ -f "$conf" ]] && echo manual >"$conf"
  done < <(pg_lsclusters --no-header 2>/dev/null || true)
fi

bin_dir="$(find_bin_dir)" || {
  echo "ensure-postgres: installed postgresql but found no initdb/pg_ctl under /usr/lib/postgresql" >&2
  exit 1
}
echo "ensure-postgres: installed; using $bin_dir" >&2
