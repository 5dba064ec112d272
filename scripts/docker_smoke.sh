#!/usr/bin/env bash
# Proves the Dockerfile by a real build and run, on a machine that cannot pull
# images: starts a Docker engine if none runs (vfs storage, its own socket),
# builds a local stand-in for the Python 3.7 base image (a Debian rootfs from
# debootstrap plus this machine's Python 3.7 and CA bundle), builds the
# project's image on it, trains a short job and exports it inside containers
# with a mounted output folder, and checks the files that come out. Stops the
# engine it started, by its process id.
#
#   bash scripts/docker_smoke.sh          # exit 0 passed, 1 failed, 77 skipped
#
# Environment: TFBNN_DOCKER_WORK (default /tmp/tfbnn-docker) keeps the engine's
# data and the stand-in rootfs between runs; TFBNN_PYTHON37 overrides the
# Python 3.7 installation copied into the stand-in.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${TFBNN_DOCKER_WORK:-/tmp/tfbnn-docker}"
BASE_TAG="tfbnn-base:py37-standin"
IMAGE="tfbnn:smoke"
STARTED_PID=""

log() { echo "docker_smoke: $*"; }
skip() { log "SKIPPED: $*"; exit 77; }
fail() { log "FAILED: $*"; exit 1; }

cleanup() {
  if [ -n "$STARTED_PID" ] && kill -0 "$STARTED_PID" 2>/dev/null; then
    log "stopping the engine this script started (pid $STARTED_PID)"
    kill "$STARTED_PID" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$STARTED_PID" 2>/dev/null || break; sleep 1; done
    kill -9 "$STARTED_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT

mkdir -p "$WORK"

ensure_tools() {
  if command -v dockerd >/dev/null && command -v debootstrap >/dev/null && command -v docker >/dev/null; then
    return
  fi
  [ "$(id -u)" = 0 ] || skip "dockerd/debootstrap missing and not root to install them"
  log "installing docker.io and debootstrap from Debian's packages"
  # Another apt (an unattended upgrade, a second job) may hold the locks: wait
  # for them (up to 10 minutes each) rather than give up.
  local lock=(-o DPkg::Lock::Timeout=600)
  { for _ in 1 2 3; do apt-get "${lock[@]}" update -qq && break; sleep 20; done &&
    DEBIAN_FRONTEND=noninteractive apt-get "${lock[@]}" install -y -qq docker.io debootstrap; } \
    >"$WORK/apt.log" 2>&1 || skip "could not install docker.io/debootstrap (see $WORK/apt.log)"
}

ensure_engine() {
  if docker info >/dev/null 2>&1; then
    log "using the running Docker engine"; return
  fi
  export DOCKER_HOST="unix://$WORK/docker.sock"
  if docker info >/dev/null 2>&1; then
    log "using the engine at $DOCKER_HOST"; return
  fi
  log "starting dockerd (vfs storage) at $DOCKER_HOST"
  dockerd --storage-driver=vfs --data-root "$WORK/data-root" --exec-root "$WORK/exec-root" \
    --pidfile "$WORK/dockerd.pid" --host "$DOCKER_HOST" --bridge=none --iptables=false \
    >"$WORK/dockerd.log" 2>&1 &
  STARTED_PID=$!
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return
    kill -0 "$STARTED_PID" 2>/dev/null || skip "dockerd exited: $(tail -1 "$WORK/dockerd.log")"
    sleep 1
  done
  skip "dockerd did not answer within 60 s (see $WORK/dockerd.log)"
}

find_python37() {
  local c
  for c in "${TFBNN_PYTHON37:-}" $(ls -d "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/3.7* 2>/dev/null | sort -rV); do
    [ -n "$c" ] && [ -x "$c/bin/python3.7" ] && "$c/bin/python3.7" -c 'import ssl, ctypes' 2>/dev/null && { echo "$c"; return; }
  done
  skip "no Python 3.7 installation to put in the stand-in base image"
}

ensure_base() {
  if docker image inspect "$BASE_TAG" >/dev/null 2>&1; then
    log "stand-in base $BASE_TAG exists"; return
  fi
  local py rootfs="$WORK/rootfs"
  py="$(find_python37)"
  if [ ! -x "$rootfs/bin/sh" ]; then
    log "debootstrap bookworm into $rootfs (a few minutes)"
    rm -rf "$rootfs"
    debootstrap --variant=minbase \
      --include=ca-certificates,libssl3,libffi8,libsqlite3-0,libbz2-1.0,liblzma5,zlib1g,libreadline8,libncursesw6,libgomp1,passwd \
      bookworm "$rootfs" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1 \
      || skip "debootstrap failed (see $WORK/debootstrap.log)"
  fi
  log "adding $py as /opt/python3.7 and the machine's CA bundle"
  rm -rf "$rootfs/opt/python3.7"
  cp -a "$py" "$rootfs/opt/python3.7"
  echo /opt/python3.7/lib > "$rootfs/etc/ld.so.conf.d/python37.conf"
  chroot "$rootfs" /sbin/ldconfig
  for name in python3 python python3.7 pip pip3; do
    target=/opt/python3.7/bin/$name; [ -e "$rootfs$target" ] || target=/opt/python3.7/bin/python3.7
    ln -sf "$target" "$rootfs/usr/local/bin/$name"
  done
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$rootfs/etc/pip.conf"
  chroot "$rootfs" /usr/local/bin/python3 -c 'import ssl, sqlite3, ctypes; print("python ok")' \
    || fail "the stand-in's Python 3.7 does not run"
  tar -C "$rootfs" -c . | docker import \
    -c 'ENV PATH=/opt/python3.7/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    - "$BASE_TAG" >/dev/null
  log "imported $BASE_TAG"
}

main() {
  command -v docker >/dev/null || ensure_tools
  ensure_tools
  ensure_engine
  ensure_base
  log "docker build --build-arg BASE_IMAGE=$BASE_TAG --network host -t $IMAGE"
  docker build --build-arg BASE_IMAGE="$BASE_TAG" --network host -t "$IMAGE" "$ROOT" \
    >"$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log"; fail "docker build (log: $WORK/build.log)"; }

  # Into a file first: `docker run | grep -q` under pipefail fails at random,
  # because grep -q exits at the first match and docker's write gets EPIPE.
  docker run --rm --network none "$IMAGE" --help >"$WORK/help.log" 2>&1 \
    || { cat "$WORK/help.log"; fail "docker run IMAGE --help exited non-zero"; }
  grep -q 'usage: tfbnn-train' "$WORK/help.log" \
    || { head -5 "$WORK/help.log"; fail "docker run IMAGE --help did not print the usage"; }
  log "--help prints the usage"

  local out; out="$(mktemp -d "$WORK/output.XXXX")"
  chmod 777 "$out"
  docker run --rm --network none -v "$out:/output" "$IMAGE" --output-dir /output/run \
    --epochs 2 --hidden 32 --eval-samples 5 --progress never >"$WORK/train.log" 2>&1 \
    || { tail -20 "$WORK/train.log"; fail "training in the container"; }
  for f in config.json dataset.json metrics.json history.json checkpoint learning_curves.png reliability.png; do
    [ -s "$out/run/$f" ] || fail "the container wrote no /output/run/$f"
  done
  grep -q '"test_error"' "$out/run/metrics.json" || fail "metrics.json has no test_error"
  log "training wrote $(ls "$out/run" | wc -l) files; $(python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print('test_error %.4f, steps %d' % (m['test_error'], m['steps']))" "$out/run/metrics.json")"

  docker run --rm --network none -v "$out:/output" --entrypoint tfbnn-export "$IMAGE" \
    /output/run --mode mean >"$WORK/export.log" 2>&1 || { cat "$WORK/export.log"; fail "export in the container"; }
  [ -s "$out/run/export/frozen_mean.pb" ] || fail "no frozen_mean.pb"
  [ -s "$out/run/export/saved_model_mean/saved_model.pb" ] || fail "no SavedModel"
  log "export wrote frozen_mean.pb ($(stat -c %s "$out/run/export/frozen_mean.pb") bytes) and a SavedModel"

  docker run --rm --network none "$IMAGE" --dataset nosuch >/dev/null 2>"$WORK/bad.log" && fail "bad flag exited 0"
  grep -q "tfbnn-train: error:" "$WORK/bad.log" || fail "bad flag gave no one-line error"
  docker image prune -f >/dev/null 2>&1 || true
  log "PASSED"
}

main "$@"
