#!/usr/bin/env python3
"""Records the captures under captures/ with a real server and client.

Everything runs inside a private network namespace (its own loopback: no traffic
leaves it), so netem loss and reordering touch nothing else. Needs root, tcpdump,
editcap (wireshark-common) and iproute2. Usage: sudo scripts/make_captures.py; ONLY="socks.pcap websocket.pcap" records only those
(the HTTP edges: malformed-request-lines, websocket, connect-tunnel, socks).
"""
import hashlib, os, random, shutil, socket, subprocess, sys, tempfile, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NS = "wirelab-captures"
PORT = 80
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "captures")
ROMEO = (b"But soft what light through yonder window breaks\n"
         b"It is the east and Juliet is the sun\n"
         b"Arise fair sun and kill the envious moon\n"
         b"Who is already sick and pale with grief\n")
rng = random.Random(7)
IMAGE = b"\xff\xd8\xff\xe0" + bytes(rng.randrange(256) for _ in range(60_000)) + b"\xff\xd9"


class Handler(BaseHTTPRequestHandler):
    """The course's web server, offline: romeo.txt, cover3.jpg, a 404, a redirect,
    and a chunked HTTP/1.1 resource for keep-alive."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        path = self.path.split("data.pr4e.org", 1)[-1]
        if path == "/romeo.txt":
            self.send(200, "text/plain", ROMEO)
        elif path == "/cover3.jpg":
            self.send(200, "image/jpeg", IMAGE)
        elif path == "/old":
            self.send(302, "text/html", b"<a href=\"/romeo.txt\">moved</a>\n", [("Location", "/romeo.txt")])
        elif path.startswith("/chunked"):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"Arise fair sun ", b"and kill the envious moon\n"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send(404, "text/html", b"<h1>404 Not Found</h1>\n")

    def send(self, code, ctype, body, extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Last-Modified", "Sat, 13 May 2017 20:00:00 GMT")
        for k, v in extra:
            self.send_header(k, v)
        if self.request_version == "HTTP/1.0":
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)


def course_client(url, bufsize, crlf=b"\r\n\r\n", mss=None):
    """The course's socket program: send the request line and a blank line, recv
    until the server closes. `mss` sets TCP_MAXSEG so that loopback (MTU 65536)
    segments like an Ethernet link."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if mss:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, mss)
    s.connect(("127.0.0.1", PORT))
    s.send(b"GET " + url.encode() + b" HTTP/1.0" + crlf)
    data = b""
    while True:
        chunk = s.recv(bufsize)
        if len(chunk) < 1:
            break
        data += chunk
    s.close()
    return data


def keepalive_client():
    s = socket.create_connection(("127.0.0.1", PORT))
    for path in ("/chunked/1", "/romeo.txt", "/chunked/2"):
        s.send(f"GET {path} HTTP/1.1\r\nHost: data.pr4e.org\r\n\r\n".encode())
        time.sleep(0.05)
        s.recv(65536)
    s.close()


def relay(a, b):
    """Copies bytes both ways between sockets a and b until both sides close."""
    def pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass
    t = threading.Thread(target=pump, args=(b, a), daemon=True)
    t.start()
    pump(a, b)
    t.join()
    a.close()
    b.close()


def serve(port, handle):
    """A thread accepting connections on port, each handled by handle(conn)."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(16)
    def loop():
        while True:
            c, _ = ls.accept()
            threading.Thread(target=handle, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()


def read_head(c):
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = c.recv(1)
        if not d:
            break
        buf += d
    return buf


def http_proxy(c):
    """A proxy that answers CONNECT host:port with 200 and relays to the course server."""
    head = read_head(c)
    if not head.startswith(b"CONNECT "):
        c.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
        return c.close()
    up = socket.create_connection(("127.0.0.1", PORT))
    c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    relay(c, up)


def socks_proxy(c):
    """SOCKS4/4a and SOCKS5 (no authentication) proxy that connects to the course server."""
    v = c.recv(1)
    if v == b"\x05":
        n = c.recv(1)[0]
        c.recv(n)
        c.sendall(b"\x05\x00")
        req = c.recv(4)
        atyp = req[3]
        if atyp == 3:
            c.recv(c.recv(1)[0])
        else:
            c.recv(4 if atyp == 1 else 16)
        c.recv(2)
        up = socket.create_connection(("127.0.0.1", PORT))
        c.sendall(b"\x05\x00\x00\x01\x7f\x00\x00\x01" + PORT.to_bytes(2, "big"))
    else:
        rest = c.recv(7)
        ip = rest[3:7]
        while c.recv(1) not in (b"\x00", b""):
            pass
        if ip[:3] == b"\x00\x00\x00" and ip[3]:
            while c.recv(1) not in (b"\x00", b""):
                pass
        up = socket.create_connection(("127.0.0.1", PORT))
        c.sendall(b"\x00\x5a" + PORT.to_bytes(2, "big") + bytes([127, 0, 0, 1]))
    relay(c, up)


def websocket_server(c):
    """RFC 6455: answers the opening handshake with 101, echoes text frames, closes."""
    import base64
    head = read_head(c).decode()
    key = [l.split(":", 1)[1].strip() for l in head.split("\r\n") if l.lower().startswith("sec-websocket-key")][0]
    accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
    c.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Accept: {accept}\r\n\r\n").encode())
    while True:
        h = c.recv(2)
        if len(h) < 2:
            break
        n = h[1] & 0x7F
        mask = c.recv(4)
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(c.recv(n)))
        if h[0] & 0x0F == 8:
            c.sendall(b"\x88\x02\x03\xe8")
            break
        c.sendall(bytes([0x81, len(data)]) + data)
    c.close()


def websocket_client():
    """A browser's WebSocket, by hand: the upgrade request, two masked text frames, a close."""
    s = socket.create_connection(("127.0.0.1", 8081))
    s.sendall(b"GET /chat HTTP/1.1\r\nHost: data.pr4e.org:8081\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              b"Sec-WebSocket-Version: 13\r\n\r\n")
    read_head(s)
    for text in (b"But soft", b"what light through yonder window breaks"):
        mask = bytes(rng.randrange(256) for _ in range(4))
        s.sendall(bytes([0x81, 0x80 | len(text)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(text)))
        time.sleep(0.05)
        s.recv(4096)
    mask = bytes(rng.randrange(256) for _ in range(4))
    s.sendall(bytes([0x88, 0x82]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(b"\x03\xe8")))
    s.recv(4096)
    s.close()


def malformed_clients():
    """Request lines the course notes' slips produce and worse, each on its own connection:
    no version, a version cut short, spaces in the target, a control byte."""
    for line in (b"OPTIONS HTTP/1.1", b"GET /romeo.txt HTTP/1.", b"GET /romeo and juliet.txt HTTP/1.0",
                 b"GET /romeo\x01.txt HTTP/1.0"):
        s = socket.create_connection(("127.0.0.1", PORT))
        s.sendall(line + b"\r\nHost: data.pr4e.org\r\n\r\n")
        while s.recv(65536):
            pass
        s.close()
        time.sleep(0.05)


def curl(*args):
    subprocess.run(["curl", "-s", "-o", "/dev/null", *args], check=True)


def record(name, action, snaplen=262144, netem=None, bpf=None):
    path = os.path.join(OUT, name)
    if netem:
        subprocess.run(["tc", "qdisc", "add", "dev", "lo", "root", "netem", *netem], check=True)
    dump = subprocess.Popen(["tcpdump", "-q", "-i", "lo", "-s", str(snaplen), "-U", "-w", path,
                             bpf or f"tcp port {PORT}"], stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    action()
    time.sleep(1.0)
    dump.terminate()
    dump.wait()
    if netem:
        subprocess.run(["tc", "qdisc", "del", "dev", "lo", "root"], check=True)
    os.chown(path, int(os.environ.get("SUDO_UID", 0)), int(os.environ.get("SUDO_GID", 0)))
    print("recorded", name)
    return path


def inside():
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.makedirs(OUT, exist_ok=True)
    serve(3128, http_proxy)
    serve(1080, socks_proxy)
    serve(8081, websocket_server)
    edges = {
        "malformed-request-lines.pcap": (malformed_clients, None),
        "websocket.pcap": (websocket_client, "tcp port 8081"),
        "connect-tunnel.pcap": (lambda: curl("-p", "-x", "http://127.0.0.1:3128",
                                             "http://data.pr4e.org/romeo.txt"), "tcp port 3128"),
        "socks.pcap": (lambda: (curl("--socks5-hostname", "127.0.0.1:1080", "http://data.pr4e.org/romeo.txt"),
                                curl("--socks4a", "127.0.0.1:1080", "http://data.pr4e.org/404.txt")),
                       "tcp port 1080"),
    }
    only = os.environ.get("ONLY", "").split()
    for name, (action, bpf) in edges.items():
        if not only or name in only:
            record(name, action, bpf=bpf)
    if only:
        return server.shutdown()
    record("romeo.pcap", lambda: course_client("http://data.pr4e.org/romeo.txt", 512))
    record("romeo-bare-lf.pcap", lambda: course_client("http://data.pr4e.org/romeo.txt", 512, b"\n\n"))
    record("cover3.pcap", lambda: course_client("http://data.pr4e.org/cover3.jpg", 5120, mss=1460))
    record("404.pcap", lambda: course_client("http://data.pr4e.org/missing.txt", 512))
    record("redirect.pcap", lambda: course_client("http://data.pr4e.org/old", 512))
    record("keepalive-chunked.pcap", keepalive_client)
    record("snaplen-96.pcap", lambda: course_client("http://data.pr4e.org/romeo.txt", 512), snaplen=96)
    server.shutdown()


def pcap_records(path):
    data = open(path, "rb").read()
    head, recs, i = data[:24], [], 24
    while i + 16 <= len(data):
        n = int.from_bytes(data[i + 8:i + 12], "little")
        recs.append(data[i:i + 16 + n])
        i += 16 + n
    return head, recs


def write_pcap(path, head, recs):
    open(path, "wb").write(head + b"".join(recs))


def derived():
    """Captures made from the recorded ones (this machine's kernel has no netem to make
    real loss): a lost-then-retransmitted segment, reordered segments, frames missing,
    and a file cut mid-record."""
    src = os.path.join(OUT, "cover3.pcap")
    head, recs = pcap_records(src)
    # A segment captured late, after the ACK that covered it, plus an exact
    # retransmission of another one at the end.
    late = recs[:7] + recs[8:12] + [recs[7]] + recs[12:] + [recs[9]]
    write_pcap(os.path.join(OUT, "late-and-retransmitted.pcap"), head, late)
    # Reordering: frames 9 and 10 swapped, 14 after 16.
    reo = recs[:8] + [recs[9], recs[8]] + recs[10:13] + [recs[14], recs[15], recs[13]] + recs[16:]
    write_pcap(os.path.join(OUT, "reorder.pcap"), head, reo)
    subprocess.run(["editcap", src, os.path.join(OUT, "missing-frames.pcap"), "8", "12", "20"], check=True)
    data = open(src, "rb").read()
    open(os.path.join(OUT, "cut.pcap"), "wb").write(data[: len(data) * 2 // 3 + 7])
    print("derived missing-frames.pcap (frames 8, 12, 20 removed) and cut.pcap")
    midstream()


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(int.from_bytes(b[i:i + 2], "big") for i in range(0, len(b), 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def keepalive_probe(rec):
    """A TCP keep-alive probe made from a data frame (Ethernet, IPv4): one byte, one below
    the segment's sequence number, as Linux sends it (RFC 9293 section 3.8.4)."""
    hdr, frame = rec[:16], rec[16:]
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    doff = (ip[ihl + 12] >> 4) * 4
    tcp = bytearray(ip[ihl:ihl + doff])
    seq = (int.from_bytes(tcp[4:8], "big") - 1) % (1 << 32)
    tcp[4:8] = seq.to_bytes(4, "big")
    tcp[13] = 0x10  # ACK only
    payload = b"\0"  # Windows sends a zero byte; Linux repeats the last byte sent
    iph = bytearray(ip[:ihl])
    total = ihl + doff + 1
    iph[2:4] = total.to_bytes(2, "big")
    iph[10:12] = b"\0\0"
    iph[10:12] = checksum(bytes(iph)).to_bytes(2, "big")
    tcp[16:18] = b"\0\0"
    pseudo = bytes(iph[12:20]) + b"\0\x06" + (doff + 1).to_bytes(2, "big")
    tcp[16:18] = checksum(pseudo + bytes(tcp) + payload).to_bytes(2, "big")
    out = frame[:14] + bytes(iph) + bytes(tcp) + payload
    n = len(out).to_bytes(4, "little")
    return hdr[:8] + n + n + out


def midstream():
    """keepalive-chunked.pcap as a capture begun mid-connection: a keep-alive probe of the
    client's first, then from frame 10 (inside the first response's chunked body) on."""
    head, recs = pcap_records(os.path.join(OUT, "keepalive-chunked.pcap"))
    probe = keepalive_probe(recs[13])
    out = [probe[:4] + recs[9][4:8] + probe[8:]] + recs[9:]
    write_pcap(os.path.join(OUT, "midstream-keepalive-probe.pcap"), head, out)
    print("derived midstream-keepalive-probe.pcap")


def main():
    if os.geteuid() != 0:
        sys.exit("make_captures.py: run as root (sudo): it makes a network namespace and captures in it")
    if len(sys.argv) > 1 and sys.argv[1] == "--inside":
        return inside()
    if len(sys.argv) > 1 and sys.argv[1] == "--midstream":
        return midstream()
    subprocess.run(["ip", "netns", "del", NS], stderr=subprocess.DEVNULL)
    subprocess.run(["ip", "netns", "add", NS], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", NS, sys.executable, os.path.abspath(__file__), "--inside"], check=True)
        if not os.environ.get("ONLY"):
            derived()
    finally:
        subprocess.run(["ip", "netns", "del", NS])


if __name__ == "__main__":
    main()
