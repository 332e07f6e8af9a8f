#!/usr/bin/env bash
# Installs the Debian packages Clossyne builds and tests with, only when some are missing.
# Sourced or run by scripts/run and scripts/test.
set -euo pipefail

CLOSSYNE_PACKAGES=(
  g++ cmake make pkg-config
  libzmq3-dev cppzmq-dev libmsgpack-cxx-dev libspdlog-dev libcli11-dev libxxhash-dev nlohmann-json3-dev catch2
  libssl-dev openssl  # the frontend's TLS client port (and the openssl CLI its tests make certs with)
  python3 python3-zmq python3-msgpack python3-redis python3-pytest
  python3-venv python3-setuptools python3-wheel  # README's install of clients/python into a venv
  redis-tools redis-server netcat-openbsd
  clang libclang-rt-14-dev libfuzzer-14-dev  # the fuzz targets (fuzz/run.sh and their corpus replay)
  clang-format                               # scripts/format-check (Debian 12: clang-format 14)
  libcpp-httplib-dev                         # --http: /metrics, /status.json and the cluster page
  python3-prometheus-client                  # test_metrics parses /metrics with Prometheus' parser
  chromium                                   # test_cluster_page renders the cluster page headless
)

missing=()
for p in "${CLOSSYNE_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
