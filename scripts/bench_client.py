#!/usr/bin/env python3
"""Load for the benchmark capture: the course's socket client, many times over.

Usage: bench_client.py HOST PORT TOTAL_BYTES [THREADS]
Each thread connects, sends `GET http://data.pr4e.org/PATH HTTP/1.0` and a blank line,
and reads until the server closes, as the course does; one fetch in four is cover3.jpg
(260 KB), the others romeo.txt, page1.htm and intro-short.txt. It stops once TOTAL_BYTES
have been received in all.
"""
import socket, sys, threading

host, port, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
threads = int(sys.argv[4]) if len(sys.argv) > 4 else 4
paths = ["cover3.jpg", "romeo.txt", "page1.htm", "intro-short.txt"]
lock = threading.Lock()
state = {"bytes": 0, "fetches": 0}


def worker(n):
    i = n
    while True:
        with lock:
            if state["bytes"] >= total:
                return
        s = socket.create_connection((host, port))
        s.sendall(f"GET http://data.pr4e.org/{paths[i % 4]} HTTP/1.0\r\n\r\n".encode())
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
        i += 1


ts = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print(f"{state['fetches']} fetches, {state['bytes']} bytes received")
