#!/usr/bin/env bash
# How busy the cores are while wirelab reads a capture, from start to end: perf samples
# every thread 4,000 times a second, and this prints each 25 ms of the run with the
# share of a core each thread used, then the run's total: CPU time over (cores x wall).
#
#   scripts/cores.sh FILE [REPORT OPTIONS...]     (default options: --format json)
#
# Needs perf (apt-get install -y linux-perf) and the right to use it (root, or
# kernel.perf_event_paranoid <= 1). perf's sampling slows the run by a few percent.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { sed -n '2,9p' "$0"; exit 2; }
command -v perf >/dev/null || { echo "cores.sh: needs perf (apt-get install -y linux-perf)" >&2; exit 2; }
file=$1; shift
[ $# -gt 0 ] || set -- --format json
wirelab=./target/release/wirelab
[ -x "$wirelab" ] || cargo build --release --quiet
data=$(mktemp /tmp/wirelab-cores.XXXXXX)
trap 'rm -f "$data"' EXIT
perf record -q -F 4000 -o "$data" "$wirelab" report "$file" "$@" >/dev/null
perf script -i "$data" -F comm,tid,time 2>/dev/null | python3 -c '
import collections, os, sys
BIN = 0.025
HZ = 4000
rows = []
for line in sys.stdin:
    parts = line.split()
    if len(parts) < 3:
        continue
    rows.append((" ".join(parts[:-2]), float(parts[-1].rstrip(":"))))
if not rows:
    sys.exit("cores.sh: perf recorded no samples")
t0 = min(t for _, t in rows)
t1 = max(t for _, t in rows)
bins = collections.defaultdict(collections.Counter)
for comm, t in rows:
    bins[int((t - t0) / BIN)][comm] += 1
names = sorted({c for c, _ in rows})
per_bin = HZ * BIN / 100  # samples that make 1% of a core in one bin
print("%8s %6s  %s" % ("ms", "cores", "  ".join("%14s" % n[-14:] for n in names)))
for k in range(int((t1 - t0) / BIN) + 1):
    b = bins.get(k, collections.Counter())
    total = sum(b.values()) / per_bin
    print("%8d %5.0f%%  %s" % (k * BIN * 1000, total,
          "  ".join("%13.0f%%" % (b[n] / per_bin) for n in names)))
cores = os.cpu_count() or 1
wall = t1 - t0 + 1 / HZ
cpu = len(rows) / HZ
busy = sum(1 for k in range(int((t1 - t0) / BIN) + 1)
           if sum(bins.get(k, {}).values()) / per_bin >= 0.9 * cores * 100)
print("wall %.3f s, CPU %.3f s: %.0f%% of %d cores; %d of %d bins with the cores 90%% busy"
      % (wall, cpu, 100 * cpu / (cores * wall), cores, busy, int((t1 - t0) / BIN) + 1))
'
