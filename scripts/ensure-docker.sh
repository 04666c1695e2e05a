#!/usr/bin/env bash
# What the container tests need beyond node_modules, each step only when missing:
#   1. Debian's Docker Engine (docker.io) and Compose (docker-compose), through apt-get;
#   2. a running dockerd (there is no systemd here: started in the background, its pid written
#      to $SIMMER_DOCKERD_PIDFILE so whoever asked can stop it again);
#   3. the base images the Dockerfile and Compose files name. No image registry is reachable from
#      the test machines, so when an official image is absent a local stand-in is built under its
#      name (scripts/docker-standins/): a Debian bookworm root file system from mmdebstrap, plus
#      this machine's Node and npm for node:20-bookworm-slim, Debian's PostgreSQL for postgres and
#      Debian's nginx for nginx. Docker keeps them: later runs on the same machine reuse them.
# Prints nothing on stdout but, on its last line, `started` or `running` (who owns dockerd).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
standins="$here/docker-standins"
DOCKER=${DOCKER:-/usr/bin/docker}
pidfile=${SIMMER_DOCKERD_PIDFILE:-/run/simmer-dockerd.pid}
log() { echo "ensure-docker: $*" >&2; }

# The base images, as the Dockerfile and compose.postgres.yaml name them.
NODE_IMAGE=node:20-bookworm-slim
POSTGRES_IMAGE=postgres:17-bookworm
NGINX_IMAGE=nginx:1.27-bookworm
BOOKWORM_IMAGE=simmer-standin/bookworm:12

apt_install() {
  if [[ "$(id -u)" != 0 ]]; then
    log "$* missing and this is not root: install Debian's packages $* by hand"
    exit 1
  fi
  log "installing Debian's $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

missing=()
[[ -x /usr/bin/docker && -x /usr/sbin/dockerd ]] || missing+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
((${#missing[@]} == 0)) || apt_install "${missing[@]}"

state=running
if ! "$DOCKER" info >/dev/null 2>&1; then
  log "starting dockerd"
  nohup /usr/sbin/dockerd >/var/log/simmer-dockerd.log 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 60); do
    "$DOCKER" info >/dev/null 2>&1 && break
    sleep 0.5
  done
  "$DOCKER" info >/dev/null 2>&1 || {
    log "dockerd did not come up; its log:"
    tail -20 /var/log/simmer-dockerd.log >&2
    exit 1
  }
  state=started
fi

has_image() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

ensure_bookworm() {
  has_image "$BOOKWORM_IMAGE" && return 0
  command -v mmdebstrap >/dev/null 2>&1 || apt_install mmdebstrap
  local tar
  tar=$(mktemp --suffix=.tar)
  log "making a Debian bookworm root file system (mmdebstrap, about a minute)"
  mmdebstrap --variant=minbase --quiet bookworm "$tar" >&2
  "$DOCKER" import --change 'CMD ["bash"]' "$tar" "$BOOKWORM_IMAGE" >/dev/null
  rm -f "$tar"
}

# build_standin IMAGE DOCKERFILE [FILE...]: a context holding the Dockerfile and the given files.
build_standin() {
  local image=$1 dockerfile=$2 context
  shift 2
  context=$(mktemp -d)
  cp -a "$@" "$context/"
  log "no $image here: building a local stand-in"
  "$DOCKER" build --quiet -t "$image" -f "$standins/$dockerfile" "$context" >/dev/null
  rm -rf "$context"
}

if ! has_image "$NODE_IMAGE"; then
  ensure_bookworm
  node_bin=$(readlink -f "$(command -v node)")
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  context=$(mktemp -d)
  cp "$node_bin" "$context/node"
  cp -a "$npm_dir" "$context/npm"
  log "no $NODE_IMAGE here: building a local stand-in from this machine's Node $(node --version)"
  "$DOCKER" build --quiet -t "$NODE_IMAGE" -f "$standins/node.Dockerfile" "$context" >/dev/null
  rm -rf "$context"
fi
if ! has_image "$POSTGRES_IMAGE"; then
  ensure_bookworm
  build_standin "$POSTGRES_IMAGE" postgres.Dockerfile "$standins/postgres-entrypoint.sh"
fi
if ! has_image "$NGINX_IMAGE"; then
  ensure_bookworm
  build_standin "$NGINX_IMAGE" nginx.Dockerfile "$standins/nginx.Dockerfile"
fi

echo "$state"
