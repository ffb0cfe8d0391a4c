#!/usr/bin/env bash
# Records the lab captures of the course's programs and the mistakes beginners make
# (captures/lab-*.pcapng): each program of tests/programs/ run unchanged under
# `wirelab lab`, traced, saved as pcapng with its calls and the lab's description.
# Needs root (the lab's namespaces); sends nothing outside this machine.
#   sudo scripts/make_lab_captures.sh            # all of them
#   sudo scripts/make_lab_captures.sh lab-unread # one
set -uo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
declare -A program=(
  [lab-socket1]=socket1.py
  [lab-no-blank-line]=socket_noblank.py
  [lab-bare-lf]=socket_barelf.py
  [lab-method-case]=socket_get_lower.py
  [lab-refused-443]=socket_443.py
  [lab-unread]=socket_unread.py
  [lab-no-break]=socket_nobreak.py
  [lab-outside]=socket_google.py
  [lab-typo]=socket_typo.py
)
names=("$@")
[ ${#names[@]} -eq 0 ] && names=("${!program[@]}")
for name in "${names[@]}"; do
  out="captures/$name.pcapng"
  rm -f "$out"
  # The program's own output and errors are the student's; the report is not needed.
  ./target/release/wirelab lab -o /dev/null -w "$out" -- \
    /usr/bin/python3 "$PWD/tests/programs/${program[$name]}" >/dev/null 2>&1
  echo "$out: exit $? ($(stat -c %s "$out") bytes)"
done
