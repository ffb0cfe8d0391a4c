#!/usr/bin/env bash
# Lets a normal user capture with wirelab without sudo: gives the built binary the
# two capabilities libpcap needs (raw sockets, interface settings). wirelab clears
# them again as soon as the capture is open. Usage: sudo scripts/grant-capture.sh [BINARY]
set -euo pipefail
bin="${1:-$(dirname "$0")/../target/release/wirelab}"
if [ "$(id -u)" -ne 0 ]; then
  echo "grant-capture.sh: run it with sudo (setting file capabilities needs root)" >&2
  exit 1
fi
if [ ! -x "$bin" ]; then
  echo "grant-capture.sh: $bin not found; build it first: cargo build --release" >&2
  exit 1
fi
command -v setcap >/dev/null || { echo "grant-capture.sh: setcap missing: apt-get install libcap2-bin" >&2; exit 1; }
setcap cap_net_raw,cap_net_admin=eip "$bin"
getcap "$bin"
echo "now run it without sudo, e.g.: $bin demo --port 8080"
