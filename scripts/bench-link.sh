#!/usr/bin/env bash
# The lab link's own cost: how much CPU the queue's thread spends per packet, and how
# late it lets packets go past their due time, at rates from the course's 4 Mbit/s to
# no limit. Each row is one lab run (untraced) of curl fetching cover3.jpg (260,113
# bytes) N times through a link with a one-way delay of DELAY_MS; the figures come from
# the report's JSON (lab.link_figures, the segments). Needs root.
#   sudo scripts/bench-link.sh [DELAY_MS]      (default 1)
#   sudo scripts/bench-link.sh --tap [DELAY_MS]
# --tap measures the alternative the lab did not keep: two TAP devices bridged in user
# space (examples/tap_link.rs), one in a namespace with curl, one in a namespace with
# `wirelab serve`, the same fetches with no rate limit; then the queue's row at full
# rate for comparison. The namespaces are named wl-tap-a and wl-tap-b while it runs.
# Columns: the rate asked; the rate the server's data reached (its payload bytes over
# the time from the first to the last of its data segments); the handshake's RTT (2 x
# the delay, plus what the link adds); packets through the queue; the thread's CPU per
# packet; the lateness (past each packet's due time) at the 99th percentile and worst.
set -euo pipefail
cd "$(dirname "$0")/.."
tap=no
if [ "${1:-}" = --tap ]; then tap=yes; shift; fi
delay=${1:-1}
dir=target/bench/link
mkdir -p "$dir"
wirelab=./target/release/wirelab
[ "$(id -u)" = 0 ] || { echo "bench-link.sh: needs root (sudo)" >&2; exit 3; }
cargo build --release --quiet
url=http://data.pr4e.org/cover3.jpg
if [ $tap = yes ]; then
    cargo build --release --quiet --example tap_link
    cleanup() {
        [ -n "${fwd:-}" ] && kill "$fwd" 2>/dev/null || true
        [ -n "${srv:-}" ] && kill "$srv" 2>/dev/null || true
        ip netns del wl-tap-a 2>/dev/null || true
        ip netns del wl-tap-b 2>/dev/null || true
    }
    trap cleanup EXIT
    ip netns add wl-tap-a
    ip netns add wl-tap-b
    ./target/release/examples/tap_link wltapa wltapb "$delay" >"$dir/tap.out" &
    fwd=$!
    for _ in $(seq 50); do ip link show wltapb >/dev/null 2>&1 && break; sleep 0.1; done
    for side in a b; do
        n=$([ $side = a ] && echo 1 || echo 2)
        ip link set "wltap$side" netns "wl-tap-$side"
        ip -n "wl-tap-$side" link set lo up
        ip -n "wl-tap-$side" addr add "10.99.0.$n/24" dev "wltap$side"
        ip -n "wl-tap-$side" link set "wltap$side" up
    done
    ip netns exec wl-tap-b "$wirelab" serve --listen 10.99.0.2:80 2>/dev/null &
    srv=$!
    sleep 0.5
    args=()
    for _ in $(seq 40); do args+=(-o /dev/null http://10.99.0.2/cover3.jpg); done
    start=$(date +%s.%N)
    ip netns exec wl-tap-a curl -s "${args[@]}"
    end=$(date +%s.%N)
    kill -INT "$fwd"
    wait "$fwd" || true
    fwd=
    read -r _ packets _ cpu _ p99 _ worst <"$dir/tap.out"
    python3 -c "
secs = $end - $start
print(f'TAP bridge (examples/tap_link.rs), {$delay} ms each way, no rate limit, 40 x cover3.jpg:')
print(f'  reached {40 * 260113 * 8 / secs / 1e6:.1f} Mbit/s of payload; {$packets} packets, '
      f'{$cpu / max($packets, 1):.1f} us of CPU each; late p99 {$p99 / 1000:.2f} ms, worst {$worst / 1000:.2f} ms')"
    echo "The queue at the same rate (a lab run; its capture and servers share the CPUs):"
fi
printf '%-8s %10s %9s %8s %9s %9s %9s\n' rate reached rtt packets cpu/pkt late-p99 late-max
rates="4mbit 10mbit 25mbit 50mbit 100mbit 200mbit 400mbit full"
[ $tap = yes ] && rates=full
for rate in $rates; do
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
