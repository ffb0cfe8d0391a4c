#!/usr/bin/env bash
# The lab link's own cost: how much CPU the queue's thread spends per packet, and how
# late it lets packets go past their due time, at rates from the course's 4 Mbit/s to
# no limit. Each row is one lab run (untraced) of curl fetching cover3.jpg (260,113
# bytes) N times through a link with a one-way delay of DELAY_MS; the figures come from
# the report's JSON (lab.link_figures, the segments). Needs root.
#   sudo scripts/bench-link.sh [DELAY_MS]      (default 1)
# Columns: the rate asked; the rate the server's data reached (its payload bytes over
# the time from the first to the last of its data segments); the handshake's RTT (2 x
# the delay, plus what the link adds); packets through the queue; the thread's CPU per
# packet; the lateness (past each packet's due time) at the 99th percentile and worst.
set -euo pipefail
cd "$(dirname "$0")/.."
delay=${1:-1}
dir=target/bench/link
mkdir -p "$dir"
wirelab=./target/release/wirelab
[ "$(id -u)" = 0 ] || { echo "bench-link.sh: needs root (sudo)" >&2; exit 3; }
cargo build --release --quiet
url=http://data.pr4e.org/cover3.jpg
printf '%-8s %10s %9s %8s %9s %9s %9s\n' rate reached rtt packets cpu/pkt late-p99 late-max
for rate in 4mbit 10mbit 25mbit 50mbit 100mbit 200mbit 400mbit full; do
    case $rate in 4mbit) n=2 ;; 10mbit) n=5 ;; 25mbit) n=10 ;; 50mbit | 100mbit) n=20 ;; *) n=40 ;; esac
    args=()
    for _ in $(seq "$n"); do args+=(-o /dev/null "$url"); done
    out="$dir/$rate.json"
    rm -f "$out"
    "$wirelab" lab --no-trace --rate "$rate" --delay "$delay" --format json -o "$out" \
        -- curl -s "${args[@]}" 2>"$dir/$rate.log"
    python3 - "$out" "$rate" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
f = r["lab"]["link_figures"]
first, last, payload = None, None, 0
for c in r["connections"]:
    for s in c["segments"]:
        if s["dir"] == "s2c" and s["len"] > 0:
            first = s["ts_us"] if first is None else min(first, s["ts_us"])
            last = s["ts_us"] if last is None else max(last, s["ts_us"])
            payload += s["len"]
rtt = r["connections"][0]["handshake"]["rtt_us"] / 1000
mbit = payload * 8 / max(last - first, 1)
print(f"{sys.argv[2]:<8} {mbit:7.1f} Mb/s {rtt:6.2f} ms {f['packets']:8} "
      f"{f['cpu_us'] / max(f['packets'], 1):6.1f} us {f.get('late_us_p99', 0) / 1000:6.2f} ms "
      f"{f.get('late_us_max', 0) / 1000:6.2f} ms" + (f"  ({f['unstamped']} unstamped)" if f.get("unstamped") else ""))
PY
done
