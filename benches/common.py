"""What the benchmark scripts share: run one command as its own process and
measure its wall time and peak RSS (ru_maxrss from wait4(2))."""
import os
import subprocess
import sys
import time


def run(cmd, stdout=subprocess.DEVNULL, env=None):
    """Runs `cmd`; returns (seconds, peak RSS in MiB). Exits on failure."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - start
    err = proc.stderr.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"benchmark command failed ({code}): {' '.join(str(c) for c in cmd[:4])} ...\n{err}")
    return elapsed, usage.ru_maxrss / 1024.0
