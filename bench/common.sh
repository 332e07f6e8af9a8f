# Shared by the bench scripts (sourced): binaries (built if missing), free ports, a work dir and the
# processes started, stopped on exit.
BIN=${CLOSSYNE_BIN:-build/bin}
[[ -x $BIN/clossyne-broker && -x $BIN/clossyne-worker ]] || { scripts/deps.sh; scripts/build.sh; }
PY=/usr/bin/python3
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
WORK=$(mktemp -d)
PIDS=()
