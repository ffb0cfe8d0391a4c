#!/usr/bin/env python3
"""Load for the benchmark captures: the course's socket client, many times over.

Usage: bench_client.py HOST PORT TOTAL_BYTES [THREADS]
       bench_client.py HOST PORT --mix N:PATH[,N:PATH...] [THREADS]

Each thread connects, sends a GET and a blank line (HTTP/1.0), and reads until the
server closes, as the course does. With TOTAL_BYTES: one fetch in four is cover3.jpg
(260 KB), the others romeo.txt, page1.htm and intro-short.txt, as
`GET http://data.pr4e.org/PATH`, until TOTAL_BYTES have been received in all.
With --mix: exactly N fetches of each PATH (origin-form, `GET PATH`), in the order
given, then it stops.
"""
import socket, sys, threading

host, port = sys.argv[1], int(sys.argv[2])
lock = threading.Lock()
state = {"bytes": 0, "fetches": 0}


def fetch(request):
    s = socket.create_connection((host, port))
    s.sendall(request)
    got = 0
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += len(b)
    s.close()
    with lock:
        state["bytes"] += got
        state["fetches"] += 1


if sys.argv[3] == "--mix":
    queue = []
    for part in sys.argv[4].split(","):
        n, path = part.split(":", 1)
        queue += [path] * int(n)
    queue.reverse()
    threads = int(sys.argv[5]) if len(sys.argv) > 5 else 4

    def worker(_):
        while True:
            with lock:
                if not queue:
                    return
                path = queue.pop()
            fetch(f"GET {path} HTTP/1.0\r\n\r\n".encode())
else:
    total = int(sys.argv[3])
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 4
    paths = ["cover3.jpg", "romeo.txt", "page1.htm", "intro-short.txt"]

    def worker(n):
        i = n
        while True:
            with lock:
                if state["bytes"] >= total:
                    return
            fetch(f"GET http://data.pr4e.org/{paths[i % 4]} HTTP/1.0\r\n\r\n".encode())
            i += 1


ts = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print(f"{state['fetches']} fetches, {state['bytes']} bytes received")
