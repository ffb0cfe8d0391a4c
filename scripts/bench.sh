#!/usr/bin/env bash
# Benchmarks wirelab against tshark, tcpflow, tcpdump and cat on the same large capture,
# in one run, and prints each one's wall time, peak memory and the ratios to wirelab.
#
#   sudo scripts/bench.sh [SIZE_MB]          (default 500)
#
# The capture is made once and cached under target/bench/: thousands of course-style
# HTTP/1.0 fetches (scripts/bench_client.py: cover3.jpg, romeo.txt, page1.htm,
# intro-short.txt) from one network namespace to `wirelab serve` in another, over a veth
# pair (MTU 1500, offloads off, 10.78.0.0/24), recorded by tcpdump. Making it needs root,
# iproute2, ethtool and tcpdump; measuring needs tshark, tcpflow and GNU time.
# A second capture, the big-first one (about 610 MB, shaped like a busy class server):
# 450 fetches of a 1 MB file, then 450 of a 230 KB image, then 8,000 small ones, from
# python's http.server: big bodies, whose hashing dominates, then many small connections
# after the listed ones; it is also reported with --list all (every body hashed), and
# four copies of it end to end (2.4 GB, each copy a minute after the one before) check
# that memory stays flat. The memory bound is also checked on a course capture 4.5 times
# as large as the first, and the live drop counts of `wirelab capture -w` against
# `tcpdump -w` under the same loopback load (BENCH_LIVE=0 skips that).
# Targets: on the big-first capture at least 60x tshark and 4x tcpflow, under 100 MB;
# on the course capture 40x tshark and 4x tcpflow. ROUNDS (default 5) runs of each, the
# tools taking turns, best wall time kept. For the big-first capture it also prints what
# bounds the tshark ratio: wirelab's least CPU time spread over every core.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-500}
dir=target/bench
mkdir -p "$dir"
cap="$dir/lab-${size_mb}M.pcap"
big_mb=$((size_mb * 9 / 2))   # 4.5 times: over 2 GB for the default
big="$dir/lab-${big_mb}M.pcap"
wirelab=./target/release/wirelab

need() { command -v "$1" >/dev/null || { echo "bench.sh: needs $1 (apt-get install -y $2)" >&2; exit 2; }; }
need tshark tshark
need tcpflow tcpflow
need tcpdump tcpdump
[ -x /usr/bin/time ] || { echo "bench.sh: needs GNU time (apt-get install -y time)" >&2; exit 2; }
cargo build --release --quiet

# make_capture MB FILE [mix]: about MB megabytes of course fetches (or, with mix, the
# mixed fetches), recorded by tcpdump.
make_capture() {
  local mb=$1 out=$2 mix=${3:-}
  [ "$(id -u)" = 0 ] || { echo "bench.sh: making $out needs root (sudo)" >&2; exit 3; }
  need ethtool ethtool
  local c=wlb-c s=wlb-s
  cleanup() { ip netns del $c 2>/dev/null || true; ip netns del $s 2>/dev/null || true; }
  trap cleanup EXIT
  cleanup
  ip netns add $c && ip netns add $s
  ip link add wlbc0 netns $c type veth peer name wlbs0 netns $s
  ip -n $c addr add 10.78.0.2/24 dev wlbc0 && ip -n $s addr add 10.78.0.1/24 dev wlbs0
  for ns_dev in "$c wlbc0" "$s wlbs0"; do
    set -- $ns_dev
    ip -n "$1" link set "$2" mtu 1500 up
    ip -n "$1" link set lo up
    ip netns exec "$1" ethtool -K "$2" tso off gso off gro off >/dev/null 2>&1 || true
  done
  if [ -n "$mix" ]; then
    mkdir -p "$dir/www"
    head -c 1000000 /dev/urandom > "$dir/www/big.bin"
    head -c 230000 /dev/urandom > "$dir/www/image.jpg"
    printf 'But soft what light through yonder window breaks\nIt is the east and Juliet is the sun\nArise fair sun and kill the envious moon\nWho is already sick and pale with grief\n' > "$dir/www/romeo.txt"
    ip netns exec $s python3 -m http.server 80 --bind 10.78.0.1 --directory "$dir/www" >/dev/null 2>&1 &
  else
    ip netns exec $s "$wirelab" serve --listen 10.78.0.1:80 2>/dev/null &
  fi
  local server=$!
  ip netns exec $c tcpdump -i wlbc0 -s 0 -B 262144 -w "$out.part" 'tcp port 80' 2>"$dir/tcpdump.log" &
  local dump=$!
  # tcpdump says "listening on" once its socket is bound: wait for it (on a loaded
  # machine a fixed second was not enough and the first fetches were missed).
  for _ in $(seq 100); do grep -q "listening on" "$dir/tcpdump.log" 2>/dev/null && break; sleep 0.1; done
  sleep 0.5
  # The payload received is about 0.96 of the capture's size.
  if [ -n "$mix" ]; then
    ip netns exec $c python3 scripts/bench_client.py 10.78.0.1 80 --mix 450:/big.bin,450:/image.jpg,8000:/romeo.txt 4
  else
    ip netns exec $c python3 scripts/bench_client.py 10.78.0.1 80 $((mb * 1000 * 1000 * 96 / 100)) 4
  fi
  sleep 0.5
  kill -INT $dump && wait $dump || true
  kill $server 2>/dev/null || true
  cat "$dir/tcpdump.log" | grep -E "captured|dropped" || true
  mv "$out.part" "$out"
  cleanup
  trap - EXIT
}

[ -f "$cap" ] || make_capture "$size_mb" "$cap"
[ -f "$big" ] || make_capture "$big_mb" "$big"
mixed="$dir/big-first.pcap"
[ -f "$mixed" ] || make_capture 0 "$mixed" mix
# Four copies end to end, each shifted a minute later (editcap -t), so that every
# connection of a copy starts after the same ports' connection in the copy before ended.
mixed4="$dir/big-first-x4.pcap"
if [ ! -f "$mixed4" ]; then
  need editcap wireshark-common
  for i in 0 1 2 3; do editcap -F pcap -t $((i * 60)) "$mixed" "$dir/copy$i.pcap"; done
  mergecap -a -F pcap -w "$mixed4.part" "$dir"/copy[0-3].pcap
  rm -f "$dir"/copy[0-3].pcap
  mv "$mixed4.part" "$mixed4"
fi

# once NAME COMMAND...: one timed run of COMMAND (output discarded, the disk synced
# before it, tcpflow's and --extract's output removed), keeping NAME's best wall time,
# least CPU time (user + system) and highest peak KB. The tools take turns, ROUNDS
# rounds: this machine's speed drifts by a quarter from minute to minute, and turns give
# every tool the same stretches.
rounds=${ROUNDS:-5}
declare -A wall peak cpu
# Wall time from bash's microsecond clock (GNU time's is in hundredths), peak memory
# from GNU time.
once() {
  local name=$1; shift
  [ -n "${wall[$name]:-}" ] || { wall[$name]=999999; peak[$name]=0; cpu[$name]=999999; }
  rm -rf "$dir/tcpflow" "$dir/extract"; mkdir -p "$dir/tcpflow"
  sync
  local t0=$EPOCHREALTIME
  /usr/bin/time -f "%e %M %U %S" -o "$dir/time.out" "$@" >/dev/null 2>"$dir/$name.err" || {
    echo "bench.sh: $name failed: $(tail -3 "$dir/$name.err")" >&2; }
  local t1=$EPOCHREALTIME
  local w p u s c
  w=$(echo "${t1/./} / 1000000 - ${t0/./} / 1000000" | bc -l | xargs printf '%.3f')
  read -r _ p u s < <(tail -1 "$dir/time.out")
  c=$(echo "$u + $s" | bc -l | xargs printf "%.2f")
  if (( $(echo "$w < ${wall[$name]}" | bc -l) )); then wall[$name]=$w; fi
  if (( $(echo "$c < ${cpu[$name]}" | bc -l) )); then cpu[$name]=$c; fi
  if (( p > peak[$name] )); then peak[$name]=$p; fi
}

echo "capture: $cap ($(du -m "$cap" | cut -f1) MB, $(tcpdump -r "$cap" -nq 2>/dev/null | wc -l) packets)"
echo "each tool: best wall time of $rounds runs (the tools taking turns), highest peak memory"
for _ in $(seq "$rounds"); do
  cat "$cap" >/dev/null
  once wirelab "$wirelab" report "$cap" --format json
  once tshark tshark -r "$cap" -Y http.response -T fields -e http.response.code
  once tcpflow tcpflow -r "$cap" -o "$dir/tcpflow"
  once tcpdump tcpdump -nr "$cap"
  once cat cat "$cap"
  once wirelab-extract "$wirelab" report "$cap" --format json --extract "$dir/extract"
done
for _ in $(seq "$rounds"); do
  once wirelab-2GB "$wirelab" report "$big" --format json
done

printf '\n%-18s %10s %12s %14s\n' tool "wall (s)" "peak (MB)" "time / wirelab"
for t in wirelab tshark tcpflow tcpdump cat wirelab-extract; do
  printf '%-18s %10s %12.1f %14.1f\n' "$t" "${wall[$t]}" "$(echo "${peak[$t]} / 1024" | bc -l)" \
    "$(echo "${wall[$t]} / (${wall[wirelab]} + 0.001)" | bc -l)"
done
printf '%-18s %10s %12.1f %14s\n' "wirelab (big file)" "${wall[wirelab-2GB]}" "$(echo "${peak[wirelab-2GB]} / 1024" | bc -l)" "-"
echo
echo "wirelab is $(echo "${wall[tshark]} / ${wall[wirelab]}" | bc -l | xargs printf '%.1f')x faster than tshark (target 40x)"
echo "wirelab is $(echo "${wall[tcpflow]} / ${wall[wirelab]}" | bc -l | xargs printf '%.1f')x faster than tcpflow (target 4x)"
echo "wirelab --extract takes $(echo "${wall[wirelab-extract]} / ${wall[tcpflow]}" | bc -l | xargs printf '%.2f') of tcpflow's time (both write files out: the bodies, the streams)"
echo "peak memory: $(( peak[wirelab] / 1024 )) MB on $(du -m "$cap" | cut -f1) MB, $(( peak[wirelab-2GB] / 1024 )) MB on $(du -m "$big" | cut -f1) MB (target under 100 MB, not growing)"
# Every exchange is found: wirelab's count of responses against tshark's.
responses=$("$wirelab" report "$cap" --format json | python3 -c 'import json,sys; t=json.load(sys.stdin)["totals"]; print(sum(n for _, n in t["http_status"]))')
tshark_responses=$(tshark -r "$cap" -Y http.response -T fields -e http.response.code | wc -l)
echo "HTTP responses found: wirelab $responses, tshark $tshark_responses"

# The big-first capture: big bodies, where hashing dominates, then thousands of small
# connections. Targets: 60x tshark, 4x tcpflow, under 100 MB, flat on four copies; and
# every body hashed with --list all.
echo
echo "capture: $mixed ($(du -m "$mixed" | cut -f1) MB, $(tcpdump -r "$mixed" -nq 2>/dev/null | wc -l) packets)"
for _ in $(seq "$rounds"); do
  cat "$mixed" >/dev/null
  once m-wirelab "$wirelab" report "$mixed" --format json
  once m-tshark tshark -r "$mixed" -Y http.response -T fields -e http.response.code
  once m-wirelab-all "$wirelab" report "$mixed" --format json --list all
  once m-wirelab-streams "$wirelab" report "$mixed" --format json --stream-hash
  once m-tcpflow tcpflow -r "$mixed" -o "$dir/tcpflow"
done
for _ in $(seq "$rounds"); do
  once m-wirelab-x4 "$wirelab" report "$mixed4" --format json
done
printf '\n%-26s %10s %12s %14s\n' tool "wall (s)" "peak (MB)" "time / wirelab"
for t in m-wirelab m-wirelab-all m-wirelab-streams m-tshark m-tcpflow; do
  printf '%-26s %10s %12.1f %14.1f\n' "${t#m-}" "${wall[$t]}" "$(echo "${peak[$t]} / 1024" | bc -l)" \
    "$(echo "${wall[$t]} / (${wall[m-wirelab]} + 0.001)" | bc -l)"
done
printf '%-26s %10s %12.1f %14s\n' "wirelab (four copies)" "${wall[m-wirelab-x4]}" "$(echo "${peak[m-wirelab-x4]} / 1024" | bc -l)" "-"
echo "big-first: wirelab is $(echo "${wall[m-tshark]} / ${wall[m-wirelab]}" | bc -l | xargs printf '%.1f')x faster than tshark (target 60x)"
echo "big-first: wirelab is $(echo "${wall[m-tcpflow]} / ${wall[m-wirelab]}" | bc -l | xargs printf '%.1f')x faster than tcpflow (target 4x)"
# What bounds the tshark ratio on this machine: wirelab's CPU time spread over every
# core from the first byte to the last (GNU time counts in hundredths of a second).
cores=$(nproc)
echo "big-first: wirelab used ${cpu[m-wirelab]} s of CPU at least: on $cores cores at best $(echo "${cpu[m-wirelab]} / $cores" | bc -l | xargs printf '%.3f') s, $(echo "${wall[m-tshark]} * $cores / ${cpu[m-wirelab]}" | bc -l | xargs printf '%.1f')x tshark"
echo "big-first: wirelab --list all is $(echo "${wall[m-tshark]} / ${wall[m-wirelab-all]}" | bc -l | xargs printf '%.1f')x faster than tshark, $(echo "${wall[m-tcpflow]} / ${wall[m-wirelab-all]}" | bc -l | xargs printf '%.1f')x than tcpflow"
echo "big-first: peak memory $(( peak[m-wirelab] / 1024 )) MB on $(du -m "$mixed" | cut -f1) MB, $(( peak[m-wirelab-x4] / 1024 )) MB on $(du -m "$mixed4" | cut -f1) MB, $(( peak[m-wirelab-all] / 1024 )) MB with --list all (target under 100 MB, not growing)"
hashed=$("$wirelab" report "$mixed" --format json --list all | python3 -c 'import json,sys; r=json.load(sys.stdin); c=r["connections"]; print(sum(1 for x in c if x["http"] and (x["http"][0]["response"] or {}).get("body_sha256")), "of", r["totals"]["connections"])')
echo "big-first: bodies hashed with --list all: $hashed"

if [ "${BENCH_LIVE:-1}" = 1 ] && [ "$(id -u)" = 0 ]; then
  echo
  for r in 1 2 3; do scripts/bench-live.sh 1000 | tail -4; done
fi
