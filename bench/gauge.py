"""How fast this machine's cores were around a run: one fixed CPU-bound loop, timed alone and two at once.

The machine the benchmark was developed on (a 2-core VM) ran this loop in 0.87-0.91 s at some minutes
and 1.71-1.72 s at others, and two copies at once in 0.91-1.50 s each where one alone took 0.87-1.08 s
(docs/benchmarks.md, twelfth round). Every figure of a run moves with that, and the ratio of LocalSpot
(both cores busy) to its storage floor (one core, the other idle) with the second. The report prints the
gauge taken before and after the run, so that a run can be read against its machine's speed at the time.
It is the loop's CPU time: a core shared with other processes shows in the load average, not here.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

# Python's own CPU time for the loop, measured inside the process that runs it (not its start-up).
LOOP = """
import time
started = time.process_time()
total = 0
for i in range({loops}):
    total += i
print(time.process_time() - started)
"""


@dataclass
class Gauge:
    loops: int
    alone_s: float  # the loop's CPU time with nothing else of ours running
    together_s: list[float]  # each copy's, two started at once (one per core on a 2-core machine)

    def __str__(self) -> str:
        together = " and ".join(f"{s:.2f}" for s in self.together_s)
        return f"{self.alone_s:.2f} s of CPU alone, {together} s two at once"


def measure(loops: int) -> Gauge:
    return Gauge(loops, _timed(loops, copies=1)[0], _timed(loops, copies=2))


def _timed(loops: int, copies: int) -> list[float]:
    code = LOOP.format(loops=loops)
    runs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(copies)]
    return [_seconds(run.communicate()[0]) for run in runs]


def _seconds(output: str) -> float:
    try:
        return float(output)
    except ValueError:  # a gauge that failed must not cost the run its figures
        return float("nan")
