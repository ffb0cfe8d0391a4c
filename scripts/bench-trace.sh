#!/usr/bin/env bash
# What tracing costs a browser: headless Chromium loads http://data.pr4e.org/page1.htm
# in the lab, untraced (--no-trace) and traced, RUNS times each, alternating; prints
# each one's median wall time (the whole lab run: network, servers, browser, report)
# and the ratio. The lesson issue asks the traced load to be within 3x. Needs root and
# chromium.
#   sudo scripts/bench-trace.sh [RUNS]      (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
dir=$(mktemp -d /tmp/wirelab-bench-trace.XXXXXX)
chmod 777 "$dir"
trap 'rm -rf "$dir"' EXIT
wirelab=$PWD/target/release/wirelab
[ "$(id -u)" = 0 ] || { echo "bench-trace.sh: needs root (sudo)" >&2; exit 3; }
command -v chromium >/dev/null || { echo "bench-trace.sh: needs chromium" >&2; exit 3; }
cargo build --release --quiet
browser=(chromium --headless --no-sandbox --disable-gpu --disable-background-networking
    --disable-component-update --disable-sync --no-first-run
    --disable-features=HttpsUpgrades "--user-data-dir=$dir/profile"
    --dump-dom http://data.pr4e.org/page1.htm)
: >"$dir/untraced"
: >"$dir/traced"
for _ in $(seq "$runs"); do
    for mode in untraced traced; do
        flag=()
        [ $mode = untraced ] && flag=(--no-trace)
        start=$(date +%s.%N)
        (cd "$dir" && "$wirelab" lab "${flag[@]}" --format json -o /dev/null -- "${browser[@]}" \
            >/dev/null 2>&1)
        end=$(date +%s.%N)
        echo "$end - $start" | bc -l >>"$dir/$mode"
    done
done
python3 - "$dir" <<'PY'
import statistics, sys
t = {m: [float(x) for x in open(f"{sys.argv[1]}/{m}")] for m in ("untraced", "traced")}
u, tr = statistics.median(t["untraced"]), statistics.median(t["traced"])
print(f"untraced: median {u:.2f} s of {len(t['untraced'])} ({', '.join(f'{x:.2f}' for x in t['untraced'])})")
print(f"traced:   median {tr:.2f} s of {len(t['traced'])} ({', '.join(f'{x:.2f}' for x in t['traced'])})")
print(f"traced / untraced: {tr / u:.2f}x")
PY
