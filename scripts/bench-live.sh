#!/usr/bin/env bash
# Live drop parity: `wirelab capture -w` and `tcpdump -w` record the same loopback load
# at the same time (4 course clients fetching from `wirelab serve`, LOAD_MB megabytes in
# all), then both kernel drop counts are printed. Needs root.
# Both get the same kernel buffer (-B 8192 KiB, wirelab's default).
#   sudo scripts/bench-live.sh [LOAD_MB]      (default 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
load_mb=${1:-1000}
dir=target/bench
mkdir -p "$dir"
wirelab=./target/release/wirelab
port=8099
[ "$(id -u)" = 0 ] || { echo "bench-live.sh: needs root (sudo)" >&2; exit 3; }
cargo build --release --quiet
"$wirelab" serve --listen 127.0.0.1:$port 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
rm -f "$dir/live-wirelab.pcap" "$dir/live-tcpdump.pcap"
tcpdump -i lo -s 262144 -B 8192 -w "$dir/live-tcpdump.pcap" "tcp port $port" 2>"$dir/live-tcpdump.log" &
dump=$!
"$wirelab" capture -i lo -f "tcp port $port" -w "$dir/live-wirelab.pcap" --format json -o "$dir/live-wirelab.json" 2>"$dir/live-wirelab.log" >/dev/null &
cap=$!
sleep 1
start=$(date +%s.%N)
python3 scripts/bench_client.py 127.0.0.1 $port $((load_mb * 1000 * 1000)) 4
end=$(date +%s.%N)
sleep 0.5
kill -INT $dump $cap
wait $dump $cap || true
secs=$(echo "$end - $start" | bc -l)
printf 'load: %s MB in %.1f s (%.0f MB/s) on lo\n' "$load_mb" "$secs" "$(echo "$load_mb / $secs" | bc -l)"
echo "tcpdump -w: $(grep -E 'captured' "$dir/live-tcpdump.log"), $(grep -E 'dropped by kernel' "$dir/live-tcpdump.log")"
python3 - "$dir/live-wirelab.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["source"]
print(f"wirelab capture -w: {s['packets']} packets captured, {s.get('kernel_dropped')} packets dropped by kernel")
PY
echo "files: $(du -m "$dir/live-tcpdump.pcap" | cut -f1) MB (tcpdump), $(du -m "$dir/live-wirelab.pcap" | cut -f1) MB (wirelab)"
