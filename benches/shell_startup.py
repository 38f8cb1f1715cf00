#!/usr/bin/env python3
"""Start-up of the interactive shells, side by side in one run: the time
from starting the program on a pseudo-terminal to its prompt on the screen
(ready for input), on one local SQLite file: `qore shell`, `sqlite3`, and
`litecli` (PyPI).

    "$QORE_TOOLS/venv/bin/python" benches/shell_startup.py [--qore PATH] [--runs 30]

Installs litecli into the running venv when it is missing. Prints one
markdown table: median, p90 and best of N runs per shell. The terminal
answers the cursor-position query a line editor sends at start-up (as a
real terminal does at once), so that wait is not counted as the shell's.
"""
import argparse
import os
import pty
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LITECLI = "litecli==1.15.0"


def ready_after(cmd, prompt, env, timeout=20.0):
    """Seconds from fork to `prompt` on the terminal."""
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(env)
        os.execvp(cmd[0], cmd)
    out = b""
    try:
        while time.perf_counter() - start < timeout:
            r, _, _ = select.select([fd], [], [], 0.01)
            if not r:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            out += chunk
            if b"\x1b[6n" in chunk:
                os.write(fd, b"\x1b[1;1R")
            # Colours may sit between the prompt's pieces.
            if prompt in re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]", b"", out):
                return time.perf_counter() - start
        raise RuntimeError(f"{cmd[0]}: no prompt {prompt!r} within {timeout} s; saw {out[-400:]!r}")
    finally:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(fd)


def litecli_bin():
    exe = os.path.join(os.path.dirname(sys.executable), "litecli")
    if not os.path.exists(exe):
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", LITECLI], check=True)
    return exe


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qore", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "debug", "qore"))
    ap.add_argument("--runs", type=int, default=30)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="qore-shell-bench-")
    db = os.path.join(work, "shop.db")
    subprocess.run([a.qore, "demo", db], check=True, capture_output=True)
    env = {
        "TERM": "xterm-256color",
        "HOME": work,
        "XDG_DATA_HOME": os.path.join(work, "data"),
        "XDG_CONFIG_HOME": os.path.join(work, "config"),
        "LINES": "40",
        "COLUMNS": "120",
    }
    shells = [
        ("qore shell", [a.qore, "shell", "--db", db], b"shop.db> "),
        ("sqlite3", ["sqlite3", db], b"sqlite> "),
    ]
    try:
        shells.append(("litecli", [litecli_bin(), "--liteclirc", os.path.join(work, "liteclirc"), db], b"shop.db>"))
    except (subprocess.CalledProcessError, OSError) as e:
        print(f"litecli not installable here ({e}); left out", file=sys.stderr)
    rows = []
    for name, cmd, prompt in shells:
        if shutil.which(cmd[0]) is None and not os.path.exists(cmd[0]):
            print(f"{cmd[0]} not found; {name} left out", file=sys.stderr)
            continue
        ready_after(cmd, prompt, env)  # warm the page cache
        times = sorted(ready_after(cmd, prompt, env) for _ in range(a.runs))
        rows.append((name, statistics.median(times), times[int(len(times) * 0.9) - 1], times[0]))
    print(f"| shell | median | p90 | best |  ({a.runs} runs, ready for input on a local SQLite file)")
    print("|---|---|---|---|")
    for name, med, p90, best in rows:
        print(f"| {name} | {med * 1000:.1f} ms | {p90 * 1000:.1f} ms | {best * 1000:.1f} ms |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
