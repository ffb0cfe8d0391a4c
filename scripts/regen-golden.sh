#!/usr/bin/env bash
# Regenerates tests/golden/ from captures/: the terminal and JSON report of each
# capture, its HTML page, and its exit code. Review the result as a diff (git diff tests/golden).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
rm -f tests/golden/*
for f in captures/*.pcap captures/*.pcapng; do
  n=$(basename "$f"); n=${n%.pcapng}; n=${n%.pcap}
  set +e
  TZ=UTC ./target/release/wirelab report "$f" > "tests/golden/$n.txt" 2>/dev/null
  echo $? > "tests/golden/$n.exit"
  TZ=UTC ./target/release/wirelab report "$f" --format json > "tests/golden/$n.json" 2>/dev/null
  TZ=UTC ./target/release/wirelab report "$f" --format html > "tests/golden/$n.html" 2>/dev/null
  set -e
done
echo "regenerated $(ls tests/golden/*.txt | wc -l) captures' golden outputs"
