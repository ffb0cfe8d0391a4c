#!/usr/bin/env python3
"""For scripts/bench-serve.sh: holds HELD connections open mid-request (a slow typist, a
slowloris), from 127.0.0.2-5, until it is sent SIGTERM; prints how many it opened, then,
at the end, how many the server still held open.

  serve_load.py PORT HELD
"""
import asyncio, resource, signal, sys

port, held_n = int(sys.argv[1]), int(sys.argv[2])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def hold(i):
    try:
        r, w = await asyncio.open_connection(
            "127.0.0.1", port, local_addr=(f"127.0.0.{2 + i % 4}", 0))
        w.write(b"GET /romeo.txt HTTP/1.0\r\nHost: data.pr4e.org\r\n")
        await w.drain()
        return r, w
    except OSError:
        return None


async def main():
    held = [h for h in [await hold(i) for i in range(held_n)] if h]
    print(f"opened {len(held)}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    # Still held: nothing answered, not closed by the server.
    still = sum(1 for r, w in held if not r.at_eof() and not r._buffer)
    print(f"still_held {still}", flush=True)

asyncio.run(main())
