#!/usr/bin/env python3
"""Time per small statement on one open connection, QoreDB beside the
servers' own clients, in one run: `latency` (benches/latency.rs: a query
without parameters, which takes PostgreSQL's COPY path, and one with a
bound parameter) against psql and the mariadb client running the same
statement N times in one session (their per-statement time is
(t(N) - t(0)) / N, so connecting is not counted).

With --delay-ms D, every tool talks to the servers through a small proxy
in this script that holds each chunk of data D ms in each direction (so a
round trip costs 2·D more, as against a server across a network; `tc
netem` needs a kernel module containers rarely have).

    scripts/servers.sh run -- benches/round_trips.py [--n 200] [--delay-ms 2] [--pause-ms 20]
"""
import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse


def start_delay_proxy(host, port, delay_s):
    """A TCP proxy to host:port that delivers every chunk `delay_s` late,
    in order, both ways; returns its local port."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder = {}

    async def pipe(reader, writer):
        queue = asyncio.Queue()

        async def read():
            while True:
                data = await reader.read(1 << 16)
                queue.put_nowait((loop.time() + delay_s, data))
                if not data:
                    return

        async def write():
            while True:
                due, data = await queue.get()
                await asyncio.sleep(max(0.0, due - loop.time()))
                if not data:
                    writer.close()
                    return
                writer.write(data)
                await writer.drain()

        await asyncio.gather(read(), write(), return_exceptions=True)

    async def handle(client_r, client_w):
        try:
            server_r, server_w = await asyncio.open_connection(host, port)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w))

    async def serve():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        holder["port"] = server.sockets[0].getsockname()[1]
        ready.set()
        await server.serve_forever()

    threading.Thread(target=lambda: loop.run_until_complete(serve()), daemon=True).start()
    ready.wait()
    return holder["port"]


def via_proxy(url, delay_ms):
    if not delay_ms:
        return url
    p = urllib.parse.urlparse(url)
    port = start_delay_proxy(p.hostname, p.port, delay_ms / 1000.0)
    netloc = p.netloc.rsplit(":", 1)[0] + f":{port}"
    return urllib.parse.urlunparse(p._replace(netloc=netloc))


def timed(cmd, stdin_text=None):
    start = time.monotonic()
    subprocess.run(cmd, input=stdin_text, text=True, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.monotonic() - start


def per_statement(cmd_for, statement, n):
    """(t(N) - t(0)) / N in ms, the median of 3 tries each."""
    def med(k):
        ts = sorted(timed(cmd_for(), (statement + "\n") * k) for _ in range(3))
        return ts[1]
    return (med(n) - med(0)) / n * 1000.0


def main():
    target = os.environ.get("CARGO_TARGET_DIR", "/work/target")
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency", default=os.path.join(target, "debug", "latency"))
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--delay-ms", type=float, default=0.0)
    ap.add_argument("--pause-ms", type=int, default=0,
                    help="untimed pause before each of qore's statements (interactive use)")
    args = ap.parse_args()
    rows = []
    pg = via_proxy(os.environ["QORE_TEST_POSTGRES_URL"], args.delay_ms)
    my = via_proxy(os.environ["QORE_TEST_MYSQL_URL"], args.delay_ms)
    for engine, url in (("PostgreSQL", pg), ("MariaDB", my)):
        out = subprocess.run([args.latency, url, str(args.n), str(args.pause_ms)], check=True,
                             capture_output=True, text=True).stdout
        for line in out.splitlines():
            shape, mean, p50 = line.split()
            rows.append((engine, shape, float(mean), float(p50)))
    psql = per_statement(lambda: ["psql", pg, "-X", "-q"],
                         "SELECT 1 AS one, 'two' AS two;", args.n)
    p = urllib.parse.urlparse(my)
    my_cmd = ["mariadb", "--no-defaults", "-h", p.hostname, "-P", str(p.port),
              "-u", urllib.parse.unquote(p.username),
              f"-p{urllib.parse.unquote(p.password or '')}", p.path.lstrip("/")]
    mariadb = per_statement(lambda: my_cmd, "SELECT 1 AS one, 'two' AS two;", args.n)
    print(f"added delay: {args.delay_ms} ms each way; {args.n} statements per shape; "
          f"pause before each qore statement: {args.pause_ms} ms")
    print(f"{'engine':<11} {'statement':<28} {'qore mean ms':>12} {'qore p50 ms':>12} {'client ms':>10}")
    for engine, shape, mean, p50 in rows:
        ref = psql if engine == "PostgreSQL" else mariadb
        label = {"select": "SELECT (no parameters)", "select_param": "SELECT ... = $1 (bound)"}[shape]
        print(f"{engine:<11} {label:<28} {mean:>12.3f} {p50:>12.3f} {ref:>10.3f}")
    print("client: psql / mariadb running the same SELECT N times in one session (text protocol, no parameters)")


if __name__ == "__main__":
    sys.exit(main())
