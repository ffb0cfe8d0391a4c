#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/fuzz_targets) for SECS seconds each (default 60),
# seeded with captures/ (whole files for capture_file; their frames, length-prefixed,
# for frames). A crash leaves its input under fuzz/artifacts/TARGET/ and fails the run:
# turn it into a named capture under captures/ with a regression test.
#   scripts/fuzz.sh [SECS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# No sanitizer: the file driver's unsafe code (frames kept beside their chunk) checks
# with asserts that each frame lies in its chunk, and without AddressSanitizer the
# targets run five times as many inputs; the build keeps debug assertions and overflow
# checks, so an arithmetic overflow is a crash. cargo-fuzz prefers nightly; without a
# nightly toolchain the stable one is allowed its flags (RUSTC_BOOTSTRAP).
if cargo +nightly --version >/dev/null 2>&1; then
  fuzz=(cargo +nightly fuzz)
else
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
fi
mkdir -p fuzz/corpus/capture_file fuzz/corpus/frames
cp captures/*.pcap fuzz/corpus/capture_file/
python3 - <<'PY'
# Seeds for `frames`: the first byte picks the link type (0 = Ethernet), then each
# frame of a capture with a 2-byte big-endian length.
import glob, os, struct
for path in glob.glob("captures/*.pcap"):
    data = open(path, "rb").read()
    if len(data) < 24:
        continue
    endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    out, at = bytearray(b"\x00"), 24
    while at + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + "IIII", data[at:at + 16])
        frame = data[at + 16:at + 16 + caplen]
        out += struct.pack(">H", len(frame)) + frame
        at += 16 + caplen
    name = os.path.basename(path).replace(".pcap", ".frames")
    open(os.path.join("fuzz/corpus/frames", name), "wb").write(out)
PY
status=0
for target in capture_file frames; do
  echo "fuzz: $target for ${secs} s"
  "${fuzz[@]}" run --sanitizer none "$target" "fuzz/corpus/$target" -- -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
    2>&1 | grep -E "^(#[0-9]+ +DONE|Done|INFO: -max_total_time|==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)" || true
  if [ -n "$(find "fuzz/artifacts/$target" \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' \) 2>/dev/null)" ]; then
    echo "fuzz: $target FOUND A CRASH: $(ls fuzz/artifacts/$target)"
    status=1
  fi
done
exit $status
