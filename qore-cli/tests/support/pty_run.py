"""Runs a command on a pseudo-terminal, as a user at a terminal would.

usage: pty_run.py TIMEOUT_S INTERRUPT_AFTER_S|- -- COMMAND ARGS...

Prints one JSON line: {"exit": code or null, "signal": n or null,
"timed_out": bool, "output": what the terminal showed}. With INTERRUPT_AFTER_S,
types Ctrl-C into the terminal after that many seconds (the terminal's line
discipline turns it into SIGINT for the foreground process, as in a shell).
A command still running at TIMEOUT_S is killed and reported as timed out.
"""
import json
import os
import pty
import select
import signal
import sys
import time


def main():
    timeout = float(sys.argv[1])
    interrupt = None if sys.argv[2] == "-" else float(sys.argv[2])
    cmd = sys.argv[sys.argv.index("--") + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    start = time.monotonic()
    out = b""
    sent = False
    status = None
    while True:
        now = time.monotonic() - start
        if interrupt is not None and not sent and now >= interrupt:
            os.write(fd, b"\x03")
            sent = True
        if now >= timeout:
            break
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            out += chunk
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            # What is left in the terminal's buffer.
            while True:
                r, _, _ = select.select([fd], [], [], 0.05)
                if not r:
                    break
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            break
    timed_out = status is None
    if timed_out:
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    print(json.dumps({
        "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "timed_out": timed_out,
        "output": out.decode("utf-8", "replace"),
    }))


if __name__ == "__main__":
    main()
