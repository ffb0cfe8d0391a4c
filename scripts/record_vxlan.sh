#!/usr/bin/env bash
# Records captures/vxlan-recorded.pcap: the course's fetch of romeo.txt through a real
# VXLAN tunnel (RFC 7348, VNI 42) made by the kernel between two network namespaces of its
# own (veth underneath), captured on the underlay, so the tunnel headers are the kernel's.
# This kernel has VXLAN but no 802.1Q, GRE or IPIP devices (CONFIG_VLAN_8021Q and
# CONFIG_NET_IPIP are not set, see /proc/config.gz): those captures are crafted by
# scripts/encapsulate.py. Needs root, iproute2, tcpdump, python3. Nothing leaves the
# namespaces, which are removed on every way out.
#   sudo scripts/record_vxlan.sh
set -euo pipefail
cd "$(dirname "$0")/.."
A=wirelab-vx-a B=wirelab-vx-b
OUT=captures/vxlan-recorded.pcap
WEB=$(mktemp -d)
cleanup() {
  ip netns del "$A" 2>/dev/null || true
  ip netns del "$B" 2>/dev/null || true
  rm -rf "$WEB"
}
# A killed run's namespaces go first.
ip netns del "$A" 2>/dev/null || true
ip netns del "$B" 2>/dev/null || true
trap cleanup EXIT INT TERM
printf 'But soft what light through yonder window breaks\nIt is the east and Juliet is the sun\nArise fair sun and kill the envious moon\nWho is already sick and pale with grief\n' > "$WEB/romeo.txt"
ip netns add "$A"
ip netns add "$B"
ip -n "$A" link add va type veth peer name vb netns "$B"
ip -n "$A" addr add 10.91.0.1/24 dev va
ip -n "$B" addr add 10.91.0.2/24 dev vb
for ns in "$A" "$B"; do ip -n "$ns" link set lo up; done
ip -n "$A" link set va up
ip -n "$B" link set vb up
ip -n "$A" link add vx0 type vxlan id 42 local 10.91.0.1 remote 10.91.0.2 dstport 4789 dev va
ip -n "$B" link add vx0 type vxlan id 42 local 10.91.0.2 remote 10.91.0.1 dstport 4789 dev vb
ip -n "$A" addr add 10.92.0.1/24 dev vx0
ip -n "$B" addr add 10.92.0.2/24 dev vx0
ip -n "$A" link set vx0 up
ip -n "$B" link set vx0 up
ip netns exec "$B" python3 -m http.server 80 --bind 10.92.0.2 --directory "$WEB" >/dev/null 2>&1 &
server=$!
sleep 1
ip netns exec "$A" tcpdump -q -i va -U -w "$OUT" udp port 4789 2>/dev/null &
dump=$!
sleep 1
ip netns exec "$A" python3 - <<'EOF'
import socket
s = socket.create_connection(("10.92.0.2", 80))
s.send(b"GET /romeo.txt HTTP/1.0\r\nHost: data.pr4e.org\r\n\r\n")
while s.recv(512):
    pass
s.close()
EOF
sleep 1
kill "$dump" "$server"
wait "$dump" "$server" 2>/dev/null || true
echo "recorded $OUT"
