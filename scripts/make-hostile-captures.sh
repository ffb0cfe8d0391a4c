#!/usr/bin/env bash
# Writes the hostile captures (tests/support/hostile.rs) into DIR (default: target/hostile), then
# reports each with wirelab, printing its wall time and peak memory.
# Usage: scripts/make-hostile-captures.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-target/hostile}
cargo build --release --quiet --example hostile
cargo build --release --quiet
./target/release/examples/hostile "$dir" >/dev/null
for f in "$dir"/*.pcap; do
  /usr/bin/time -f "$(basename "$f"): %e s, %M KB peak" ./target/release/wirelab report "$f" --format json >/dev/null
done
