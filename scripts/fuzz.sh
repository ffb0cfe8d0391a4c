#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/fuzz_targets) for SECS seconds each (default 60),
# seeded with captures/ (whole files for capture_file; their frames, length-prefixed,
# for frames; the trace in romeo-traced.pcapng for trace_pcapng; DNS lookups and SOCKS
# handshakes made here for dns and socks; tls-lo.pcap's connections with their key log for
# tls). A crash leaves its input under
# fuzz/artifacts/TARGET/ and fails the run: turn it into a named capture under
# captures/ with a regression test.
#   [TARGETS="dns socks tls"] scripts/fuzz.sh [SECS]
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
mkdir -p fuzz/corpus/capture_file fuzz/corpus/frames fuzz/corpus/trace_pcapng fuzz/corpus/dns fuzz/corpus/socks fuzz/corpus/tls
cp captures/*.pcap captures/*.pcapng fuzz/corpus/capture_file/
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

# Seeds for `trace_pcapng`: the trace JSON in the section comments of the traced capture
# (pcapng SHB options: code 1 is a comment; the trace's pieces start "wirelab trace v1").
data = open("captures/romeo-traced.pcapng", "rb").read()
e = ">" if data[8:12] == b"\x1a\x2b\x3c\x4d" else "<"
block_len = struct.unpack(e + "I", data[4:8])[0]
at, pieces = 24, []
while at + 4 <= block_len - 4:
    code, length = struct.unpack(e + "HH", data[at:at + 4])
    if code == 0:
        break
    value = data[at + 4:at + 4 + length]
    if code == 1 and value.startswith(b"wirelab trace v1\n"):
        pieces.append(value[len(b"wirelab trace v1\n"):])
    at += 4 + (length + 3) // 4 * 4
open("fuzz/corpus/trace_pcapng/romeo-traced.json", "wb").write(b"".join(pieces))

# Seeds for `dns`: the lab's lookups of data.pr4e.org (query, then answer), framed as
# the target reads them (a byte of directions, then 2-byte lengths).
import socket
def name(n):
    return b"".join(bytes([len(p)]) + p.encode() for p in n.split(".")) + b"\0"
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + name("data.pr4e.org") + struct.pack(">HH", 1, 1)
a = struct.pack(">HHHHHH", 0x1234, 0x8180, 1, 1, 0, 0) + name("data.pr4e.org") + struct.pack(">HH", 1, 1)
a += b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton("10.80.1.2")
nx = bytearray(a[:12]); nx[3] = 0x83
open("fuzz/corpus/dns/lookup", "wb").write(b"\x02" + struct.pack(">H", len(q)) + q + struct.pack(">H", len(a)) + a)
open("fuzz/corpus/dns/nxdomain", "wb").write(b"\x02" + struct.pack(">H", len(q)) + q + struct.pack(">H", len(q)) + bytes(nx) + q[12:])

# Seeds for `socks`: a SOCKS5 greeting, request and replies; a SOCKS4a request.
s5 = [(0, b"\x05\x01\x00"), (1, b"\x05\x00"),
      (0, b"\x05\x01\x00\x03\x0ddata.pr4e.org\x00\x50"), (1, b"\x05\x00\x00\x01\x0a\x50\x01\x02\x00\x50"),
      (0, b"GET /romeo.txt HTTP/1.0\r\n\r\n")]
s4 = [(0, b"\x04\x01\x00\x50\x00\x00\x00\x01user\x00data.pr4e.org\x00"), (1, b"\x00\x5a\x00\x50\x00\x00\x00\x00")]
for fname, pieces in (("socks5", s5), ("socks4a", s4)):
    open(os.path.join("fuzz/corpus/socks", fname), "wb").write(b"".join(bytes([side, len(p)]) + p for side, p in pieces))

# Seeds for `tls`: each connection of captures/tls-lo.pcap (TLS 1.3 and 1.2) with its
# key log: a 2-byte length and the key log, then the payloads in capture order, in
# pieces of at most 255 bytes (a side byte, a length byte).
keys = open("captures/tls-lo.keys", "rb").read()
data = open("captures/tls-lo.pcap", "rb").read()
conns, at = {}, 24
while at + 16 <= len(data):
    _, _, caplen, _ = struct.unpack("<IIII", data[at:at + 16])
    f = data[at + 16:at + 16 + caplen]
    at += 16 + caplen
    ihl = (f[14] & 15) * 4
    tcp = f[14 + ihl:]
    sport, dport = struct.unpack(">HH", tcp[:4])
    payload = tcp[(tcp[12] >> 4) * 4:]
    client = dport == 443
    port = sport if client else dport
    if payload:
        conns.setdefault(port, []).append((0 if client else 1, payload))
for i, (port, pieces) in enumerate(sorted(conns.items())):
    out = bytearray(struct.pack(">H", len(keys)) + keys)
    for side, p in pieces:
        for j in range(0, len(p), 255):
            chunk = p[j:j + 255]
            out += bytes([side, len(chunk)]) + chunk
    open(os.path.join("fuzz/corpus/tls", f"tls-lo-{i}"), "wb").write(out)
PY
status=0
for target in ${TARGETS:-capture_file frames trace_pcapng dns socks tls}; do
  echo "fuzz: $target for ${secs} s"
  "${fuzz[@]}" run --sanitizer none "$target" "fuzz/corpus/$target" -- -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
    2>&1 | grep -E "^(#[0-9]+ +DONE|Done|INFO: -max_total_time|==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)" || true
  if [ -n "$(find "fuzz/artifacts/$target" \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' \) 2>/dev/null)" ]; then
    echo "fuzz: $target FOUND A CRASH: $(ls fuzz/artifacts/$target)"
    status=1
  fi
done
exit $status
