#!/usr/bin/env bash
# Regenerates the golden outputs listed in tests/golden/TESTLIST (the manifest that
# tests/golden.rs reads too): each row's report is written to its EXPECTED file, and an
# exit status other than the row's is said. Review the result as a diff:
#   git diff tests/golden
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
n=0; bad=0
while read -r expected capture exit args; do
  case "$expected" in ''|'#'*) continue ;; esac
  set +e
  eval "TZ=UTC ./target/release/wirelab report \"captures/\$capture\" $args" \
    > "tests/golden/$expected" 2>/dev/null
  code=$?
  set -e
  if [ "$code" != "$exit" ]; then
    echo "$expected: exit $code, the manifest says $exit" >&2
    bad=$((bad + 1))
  fi
  n=$((n + 1))
done < tests/golden/TESTLIST
echo "regenerated $n golden outputs ($bad with another exit status than the manifest's)"
