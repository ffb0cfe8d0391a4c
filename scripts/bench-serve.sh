#!/usr/bin/env bash
# `wirelab serve` under a crowd, beside Python's http.server and nginx (one worker, when
# installed) on the same machine in the same run: HELD connections held open
# mid-request (scripts/serve_load.py), then ab sends 5,000 requests for /romeo.txt from
# 50 clients at once (HTTP/1.0, a connection each, as the course's client). Prints for
# each server: connections held to the end, requests answered and failed, requests/s,
# median and p99 latency, and its peak memory (VmHWM). A benchmark, not a test.
# Needs ab (Debian's apache2-utils); nginx is optional.
#   scripts/bench-serve.sh [HELD] [REQUESTS] [CLIENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
held=${1:-1000}; requests=${2:-5000}; clients=${3:-50}
command -v ab >/dev/null || { echo "bench-serve: needs ab (sudo apt-get install apache2-utils)" >&2; exit 2; }
cargo build --release --quiet
py=/usr/bin/python3
work=$(mktemp -d); chmod 755 "$work"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
# The course's romeo.txt (src/lab/content.rs), for the other servers.
printf 'But soft what light through yonder window breaks\nIt is the east and Juliet is the sun\nArise fair sun and kill the envious moon\nWho is already sick and pale with grief\n' > "$work/romeo.txt"
ulimit -n "$(ulimit -Hn)"
free_port() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do $py -c "import socket; socket.create_connection(('127.0.0.1',$1),0.1)" 2>/dev/null && return 0; sleep 0.05; done; return 1; }
run() {
  local name=$1 port=$2; shift 2
  "$@" >/dev/null 2>&1 &
  local pid=$!
  wait_port "$port"
  $py scripts/serve_load.py "$port" "$held" > "$work/held.txt" &
  local holder=$!
  until grep -q opened "$work/held.txt" 2>/dev/null; do sleep 0.05; done
  ab -q -r -n "$requests" -c "$clients" "http://127.0.0.1:$port/romeo.txt" > "$work/ab.txt" 2>&1 || true
  kill -TERM "$holder"; wait "$holder" 2>/dev/null || true
  local hwm; hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  local complete failed non2xx rps p50 p99 still
  complete=$(awk '/^Complete requests/ {print $3}' "$work/ab.txt")
  failed=$(awk '/^Failed requests/ {print $3}' "$work/ab.txt")
  non2xx=$(awk '/^Non-2xx responses/ {print $3}' "$work/ab.txt")
  rps=$(awk '/^Requests per second/ {print $4}' "$work/ab.txt")
  p50=$(awk '$1 == "50%" {print $2}' "$work/ab.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/ab.txt")
  still=$(awk '/still_held/ {print $2}' "$work/held.txt")
  if [ -z "$complete" ]; then
    # ab gave up (a request unanswered for 30 s): what it completed, the rest failed.
    complete=$(awk '/^Total of/ {print $3}' "$work/ab.txt")
    failed="$((requests - ${complete:-0})) (unanswered after 30 s)"
  fi
  printf '%-20s held %5s/%s  answered %5s  failed %s  non-2xx %s  %8s req/s  p50 %3s ms  p99 %4s ms  peak %6.1f MB\n' \
    "$name" "${still:-?}" "$held" "${complete:-0}" "${failed:-?}" "${non2xx:-0}" "${rps:-?}" "${p50:-?}" "${p99:-?}" "$(echo "${hwm:-0} / 1024" | bc -l)"
}
echo "$held connections held mid-request, then $requests requests from $clients clients ($(nproc) cores)"
p=$(free_port); run "wirelab serve" "$p" ./target/release/wirelab serve --listen "127.0.0.1:$p"
p=$(free_port); run "python3 http.server" "$p" $py -m http.server --bind 127.0.0.1 --directory "$work" "$p"
if command -v nginx >/dev/null; then
  p=$(free_port)
  cat > "$work/nginx.conf" <<NGX
worker_processes 1; daemon off; pid $work/nginx.pid; error_log $work/error.log;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:$p; root $work; } }
NGX
  run "nginx (1 worker)" "$p" nginx -c "$work/nginx.conf"
fi
