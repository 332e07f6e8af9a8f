#!/usr/bin/env bash
# Builds the Clossyne image (default tag clossyne:local) that compose/docker-compose.yml runs.
#
#   compose/build-images.sh             # offline path reusing build/ when it holds a Release build of the
#                                       # binaries, else the registry path if debian:bookworm(-slim) can
#                                       # be had, else offline
#   compose/build-images.sh --registry  # force the multi-stage compose/Dockerfile
#   compose/build-images.sh --offline   # force the offline path
#   compose/build-images.sh --bin-dir build/bin   # offline path with binaries already built (no compile)
#
# Registry path: `docker build -f compose/Dockerfile` (Debian bookworm build stage, bookworm-slim runtime).
# Offline path (a reusable build/, or no container registry reachable): builds the binaries on this
# machine (Release, into ${BUILD_DIR:-build}, the tree scripts/run builds: an up-to-date one builds
# nothing, a stale one only what changed; a build/ of another build type is left alone for
# build-docker/) and assembles an image FROM scratch holding the binaries, every shared library they
# load (found with ldd, real files and symlinks at their own paths, with the dynamic loader),
# redis-cli for the frontend healthcheck, a minimal /etc (passwd, group, nsswitch.conf) with the
# non-root user clossyne (uid 10001) and /data and /keys owned by it.
#
# Environment: CLOSSYNE_IMAGE (tag, default clossyne:local), BUILD_DIR (offline build dir; the image's
# build context goes to BUILD_DIR/image, or next to the --bin-dir directory when only that is given),
# CLOSSYNE_BIN_DIR (same as --bin-dir), PULL_TIMEOUT (seconds to wait for a registry pull, default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
IMAGE=${CLOSSYNE_IMAGE:-clossyne:local}
BUILD_DIR_GIVEN=${BUILD_DIR:+1}
BUILD_DIR=${BUILD_DIR:-build}
PULL_TIMEOUT=${PULL_TIMEOUT:-20}
BINARIES=(clossyne-broker clossyne-worker clossyne-frontend clossyne-admin)

say() { echo "build-images: $*" >&2; }

# The legacy builder (no buildx here) leaves a failed step's container behind unless told otherwise;
# buildx does not know the flag.
BUILD_FLAGS=()
docker buildx version >/dev/null 2>&1 || BUILD_FLAGS+=(--force-rm)

mode=auto
BIN_DIR=${CLOSSYNE_BIN_DIR:-}
while (($#)); do
  case $1 in
    --registry) mode=registry ;;
    --offline) mode=offline ;;
    --bin-dir) BIN_DIR=${2:?--bin-dir needs a directory}; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    *) say "unknown argument: $1"; exit 2 ;;
  esac
  shift
done
[[ -z $BIN_DIR ]] || BIN_DIR=$(cd "$BIN_DIR" && pwd)

command -v docker >/dev/null || { say "docker is not installed"; exit 1; }
docker info >/dev/null 2>&1 || { say "no Docker engine answers (docker info failed)"; exit 1; }

have_base() {  # the two base images of compose/Dockerfile, local or pulled within PULL_TIMEOUT
  local img
  for img in debian:bookworm debian:bookworm-slim; do
    docker image inspect "$img" >/dev/null 2>&1 && continue
    timeout "$PULL_TIMEOUT" docker pull -q "$img" >/dev/null 2>&1 || return 1
  done
}

# A build context without the build trees (no .dockerignore: the legacy builder would not honour one
# kept under compose/, and the repository root is not ours to clutter).
source_context() {
  tar -C "$ROOT" -c --exclude='./build*' --exclude='./.git' --exclude='__pycache__' \
      --exclude='./.pytest_cache' .
}

build_registry() {
  say "registry path: building $IMAGE from compose/Dockerfile (debian:bookworm -> debian:bookworm-slim)"
  source_context | docker build "${BUILD_FLAGS[@]}" -f compose/Dockerfile -t "$IMAGE" -
}

# Copies path $1 (file or symlink chain) into rootfs $2 at the same path, following every link.
copy_with_links() {
  local p=$1 root=$2 target
  while [[ -L $p ]]; do
    mkdir -p "$root$(dirname "$p")"
    cp -a "$p" "$root$p"
    target=$(readlink "$p")
    [[ $target == /* ]] || target="$(dirname "$p")/$target"
    p=$target
  done
  mkdir -p "$root$(dirname "$p")"
  cp -a "$p" "$root$p"
}

# The build type a configured build tree has ("" when none).
build_type() { sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$ROOT/$1/CMakeCache.txt" 2>/dev/null || true; }
# A Release tree that already built every binary: the offline path reuses it rather than compiling
# the project again somewhere else.
reusable_build() {
  [[ $(build_type "$BUILD_DIR") == Release ]] || return 1
  local b
  for b in "${BINARIES[@]}"; do [[ -x $ROOT/$BUILD_DIR/bin/$b ]] || return 1; done
}

build_offline() {
  say "offline path ($1): assembling $IMAGE FROM scratch from binaries built on this machine"
  local t0=$SECONDS
  "$ROOT/scripts/deps.sh"
  local bin=$BIN_DIR
  if [[ -n $bin ]]; then
    say "  taking the binaries from $bin"
  else
    local type
    type=$(build_type "$BUILD_DIR")
    if [[ -n $type && $type != Release ]]; then
      say "  $BUILD_DIR/ is a $type build: building Release into build-docker/ instead"
      BUILD_DIR=build-docker
    fi
    reusable_build && say "  reusing the binaries of $BUILD_DIR/ (brought up to date if stale)"
    cmake -S "$ROOT" -B "$ROOT/$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$ROOT/$BUILD_DIR" -j "$(nproc)" --target "${BINARIES[@]}" >/dev/null
    bin=$ROOT/$BUILD_DIR/bin
    say "  binaries built in $((SECONDS - t0)) s"
  fi

  local ctx=$ROOT/$BUILD_DIR/image
  # Binaries given from another build tree: assemble there, not in build/ (maybe someone else's).
  [[ -n $BIN_DIR && -z $BUILD_DIR_GIVEN ]] && ctx=$(dirname "$BIN_DIR")/image
  rm -rf "$ctx"
  mkdir -p "$ctx/rootfs/usr/local/bin" "$ctx/rootfs/etc" "$ctx/rootfs/tmp" "$ctx/data" "$ctx/keys"
  chmod 1777 "$ctx/rootfs/tmp"
  # Keep the host's merged-/usr layout (/lib -> usr/lib ...) so every path ldd prints exists as is.
  local d
  for d in lib lib64 bin sbin; do
    if [[ -L /$d ]]; then
      mkdir -p "$ctx/rootfs/$(readlink -f "/$d")"
      ln -s "$(readlink "/$d")" "$ctx/rootfs/$d"
    fi
  done

  local execs=() b
  for b in "${BINARIES[@]}"; do
    install -m 0755 "$bin/$b" "$ctx/rootfs/usr/local/bin/$b"
    strip --strip-unneeded "$ctx/rootfs/usr/local/bin/$b" 2>/dev/null || true
    execs+=("$bin/$b")
  done
  local redis_cli
  redis_cli=$(command -v redis-cli) || { say "redis-cli not found (package redis-tools)"; exit 1; }
  copy_with_links "$redis_cli" "$ctx/rootfs"
  execs+=("$redis_cli")

  # Every library the executables load, and the loader: the paths ldd prints (absolute ones).
  local libs
  libs=$(ldd "${execs[@]}" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// && $1 !~ /:$/ {print $1}' | sort -u)
  local lib
  for lib in $libs; do
    copy_with_links "$lib" "$ctx/rootfs"
  done

  cat > "$ctx/rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
clossyne:x:10001:10001:clossyne:/data:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
EOF
  cat > "$ctx/rootfs/etc/group" <<'EOF'
root:x:0:
clossyne:x:10001:
nogroup:x:65534:
EOF
  # Names such as "broker" resolve through Docker's /etc/hosts and its embedded DNS (glibc has the
  # files and dns sources built in).
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$ctx/rootfs/etc/nsswitch.conf"
  cp "$ROOT/compose/Dockerfile.scratch" "$ctx/Dockerfile"

  docker build "${BUILD_FLAGS[@]}" -q -t "$IMAGE" "$ctx" >/dev/null
  local size
  size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
  say "  built $IMAGE FROM scratch: $((size / 1024 / 1024)) MiB, $((SECONDS - t0)) s in all"
}

case $mode in
  registry) build_registry ;;
  offline) build_offline "asked for with --offline" ;;
  auto)
    if [[ -n $BIN_DIR ]]; then
      build_offline "binaries given with --bin-dir"
    elif reusable_build; then
      build_offline "$BUILD_DIR/ holds a Release build of the binaries"
    elif have_base; then
      build_registry
    else
      build_offline "no container registry reachable: debian:bookworm(-slim) neither local nor pullable"
    fi
    ;;
esac
docker image inspect -f "build-images: $IMAGE ready ({{.Id}})" "$IMAGE" >&2
