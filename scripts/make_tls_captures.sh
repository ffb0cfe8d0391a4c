#!/usr/bin/env bash
# Records captures/tls-lo.pcap and its key log captures/tls-lo.keys: the course server
# (wirelab serve --tls on 127.0.0.1:443) fetched over HTTPS on loopback by curl and
# openssl, one connection per case the TLS tests compare with tshark:
#   0 TLS 1.3 AES-256-GCM, romeo.txt         1 TLS 1.3 AES-128-GCM, romeo + page1 (one connection)
#   2 TLS 1.3 ChaCha20-Poly1305, cover3.jpg  3 TLS 1.2 ECDHE AES-128-GCM, cover3.jpg (records
#   4 TLS 1.2 ECDHE ChaCha20, romeo.txt         split over segments: the MTU of lo is 65536, so
#   5, 6 TLS 1.2 full, then resumed (openssl)   curl --limit-rate makes the server write small)
# Needs root (port 443, tcpdump); sends nothing outside this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
W=$PWD/target/release/wirelab
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
"$W" serve --tls --listen 127.0.0.1:443 --ca ca.pem --keylog keys.txt 2>serve.log &
sleep 0.5
tcpdump -i lo -s 0 -U -w tls.pcap 'tcp port 443' 2>/dev/null &
sleep 1
get() { curl -s --cacert ca.pem --resolve data.pr4e.org:443:127.0.0.1 "$@" >/dev/null; }
get --tlsv1.3 --tls13-ciphers TLS_AES_256_GCM_SHA384 https://data.pr4e.org/romeo.txt
get --tlsv1.3 --tls13-ciphers TLS_AES_128_GCM_SHA256 https://data.pr4e.org/romeo.txt https://data.pr4e.org/page1.htm
get --tlsv1.3 --tls13-ciphers TLS_CHACHA20_POLY1305_SHA256 https://data.pr4e.org/cover3.jpg
get --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-ECDSA-AES128-GCM-SHA256 https://data.pr4e.org/cover3.jpg
get --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-ECDSA-CHACHA20-POLY1305 https://data.pr4e.org/romeo.txt
req='GET /romeo.txt HTTP/1.0\r\nHost: data.pr4e.org\r\n\r\n'
printf "$req" | openssl s_client -quiet -connect 127.0.0.1:443 -servername data.pr4e.org \
  -CAfile ca.pem -tls1_2 -sess_out sess.pem >/dev/null 2>&1
printf "$req" | openssl s_client -quiet -connect 127.0.0.1:443 -servername data.pr4e.org \
  -CAfile ca.pem -tls1_2 -sess_in sess.pem >/dev/null 2>&1
sleep 1
cd - >/dev/null
cp "$work/tls.pcap" captures/tls-lo.pcap
cp "$work/keys.txt" captures/tls-lo.keys
echo "captures/tls-lo.pcap: $(tshark -r captures/tls-lo.pcap 2>/dev/null | wc -l) frames"
