#!/usr/bin/env python3
"""Records the captures under captures/ with a real server and client.

Everything runs inside a private network namespace (its own loopback: no traffic
leaves it), so netem loss and reordering touch nothing else. Needs root, tcpdump,
editcap (wireshark-common) and iproute2. Usage: sudo scripts/make_captures.py
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


def record(name, action, snaplen=262144, netem=None):
    path = os.path.join(OUT, name)
    if netem:
        subprocess.run(["tc", "qdisc", "add", "dev", "lo", "root", "netem", *netem], check=True)
    dump = subprocess.Popen(["tcpdump", "-q", "-i", "lo", "-s", str(snaplen), "-U", "-w", path,
                             f"tcp port {PORT}"], stderr=subprocess.DEVNULL)
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


def main():
    if os.geteuid() != 0:
        sys.exit("make_captures.py: run as root (sudo): it makes a network namespace and captures in it")
    if len(sys.argv) > 1 and sys.argv[1] == "--inside":
        return inside()
    subprocess.run(["ip", "netns", "del", NS], stderr=subprocess.DEVNULL)
    subprocess.run(["ip", "netns", "add", NS], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", NS, sys.executable, os.path.abspath(__file__), "--inside"], check=True)
        derived()
    finally:
        subprocess.run(["ip", "netns", "del", NS])


if __name__ == "__main__":
    main()
