"""The benchmark's memory sampler takes CPU from the machine the server is measured on: it samples a
server under load often and an idle one rarely, and looks the process tree up only now and then."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import server


@pytest.fixture
def process() -> Iterator[subprocess.Popen]:
    """A real process, with a child of its own, to sample; it reaps the child if it ends, as the supervisor does."""
    sleeper = "import time; time.sleep(60)"
    child = f"subprocess.Popen([sys.executable, '-c', {sleeper!r}])"
    parent_code = f"import subprocess, sys, time; {child}.wait(); time.sleep(60)"
    parent = subprocess.Popen([sys.executable, "-c", parent_code])
    try:
        deadline = time.monotonic() + 30
        while len(server.process_tree(parent.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(server.process_tree(parent.pid)) == 2, "the child did not start"
        yield parent
    finally:
        for pid in server.process_tree(parent.pid)[1:]:
            os.kill(pid, signal.SIGKILL)
        parent.kill()
        parent.wait()


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> tuple[list[int], list[int]]:
    """Fast intervals, and the real /proc readers wrapped to count their calls: (Pss reads, tree lookups)."""
    monkeypatch.setattr(server, "PSS_SAMPLE_S", 0.02)
    monkeypatch.setattr(server, "PSS_IDLE_SAMPLE_S", 60.0)
    monkeypatch.setattr(server, "TREE_REFRESH_S", 60.0)
    samples, trees = [], []
    read_pss, find_tree = server._pss_kb, server.process_tree
    monkeypatch.setattr(server, "_pss_kb", lambda pid: samples.append(pid) or read_pss(pid))
    monkeypatch.setattr(server, "process_tree", lambda root: trees.append(root) or find_tree(root))
    return samples, trees


def test_a_busy_server_is_sampled_often_an_idle_one_rarely(process: subprocess.Popen, counted: tuple) -> None:
    samples, trees = counted
    sampler = server.PssSampler(process.pid)
    try:
        time.sleep(0.4)
        idle = len(samples)
        sampler.busy.set()
        time.sleep(0.4)
        sampler.busy.clear()
        cleared = len(samples)
        time.sleep(0.4)
    finally:
        sampler.stop()
    assert idle == 2  # one sample, of the parent and its child, when the sampler starts
    assert cleared - idle >= 3 * 2  # every PSS_SAMPLE_S under load, both processes each time
    assert len(samples) - cleared <= 2  # idle again: at most the sample under way when the load ended
    assert trees == [process.pid] * 2  # at the start, then afresh as the load began (not every sample)
    assert sampler.peak_kb > 0


def test_a_process_that_ended_makes_the_sampler_look_the_tree_up_again(
    process: subprocess.Popen, counted: tuple
) -> None:
    samples, trees = counted
    sampler = server.PssSampler(process.pid)
    try:
        sampler.busy.set()
        time.sleep(0.2)
        child = server.process_tree(process.pid)[1]
        looked_up = len(trees)
        os.kill(child, signal.SIGKILL)
        time.sleep(0.4)
    finally:
        sampler.stop()
    assert len(trees) > looked_up  # the child's smaps_rollup was gone: the tree was looked up again
    assert samples[-3:] == [process.pid] * 3  # and the parent alone is sampled since


def test_measuring_marks_a_server_busy_only_meanwhile(process: subprocess.Popen) -> None:
    sampler = server.PssSampler(process.pid)
    served = server.Server(process, 0, 0.0, Path("unused.log"), sampler)
    try:
        with served.measuring():
            assert sampler.busy.is_set()
        assert not sampler.busy.is_set()
        with pytest.raises(RuntimeError), served.measuring():
            raise RuntimeError("the load generator failed")
        assert not sampler.busy.is_set()
    finally:
        sampler.stop()
