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
  [lab-refused-110]=socket_110.py
  [lab-unread]=socket_unread.py
  [lab-no-break]=socket_nobreak.py
  [lab-outside]=socket_google.py
  [lab-typo]=socket_typo.py
  [lab-urljpeg-full]=urljpeg.py
  [lab-socket-https]=socket_https.py
  [lab-urllib-https]=urllib_https.py
)
# Options of the lab for some of them: cover3.jpg at full speed, where the program
# reads behind the arrivals (the HTML's time chart shows the gap).
declare -A lab_options=(
  [lab-urljpeg-full]="--rate full"
)
names=("$@")
[ ${#names[@]} -eq 0 ] && names=("${!program[@]}")
for name in "${names[@]}"; do
  out="captures/$name.pcapng"
  rm -f "$out"
  # The program's own output and errors are the student's; the report is not needed.
  # shellcheck disable=SC2086 # the options are words
  # In a folder of its own: the program may save a file (urljpeg.py's stuff.jpg).
  work=$(mktemp -d)
  chmod 777 "$work"
  (cd "$work" && "$OLDPWD/target/release/wirelab" lab ${lab_options[$name]:-} -o /dev/null \
    -w "$OLDPWD/$out" -- /usr/bin/python3 "$OLDPWD/tests/programs/${program[$name]}" \
    >/dev/null 2>&1)
  echo "$out: exit $? ($(stat -c %s "$out") bytes)"
  rm -rf "$work"
done
