"""The benchmark scripts still run, in a tiny run each: the numbers are not judged here
(a test must not time things on a noisy machine), only that they come out whole."""

import re
import subprocess
import sys

import pytest

from servers import ROOT, installed


def run(*command):
    result = subprocess.run([sys.executable, *command], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_the_relay_benchmark_loses_nothing_on_any_server():
    table = run("bench/relay.py", "--rooms", "2", "--bounces", "3").split("Signaling relay")[1]
    rows = re.findall(r"^\s*(.+?)\s+2\s+4\s+[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)x$",
                      table, re.M)
    assert [row[0] for row in rows] == ["bare asyncio relay (reference)",
                                        "gunicorn gevent (1 worker, greenlets)",
                                        "gunicorn gevent, Redis, 1 process",
                                        "gunicorn gevent, Redis, rooms across 2 processes",
                                        "gunicorn gthread (1 worker, 2,500 threads)",
                                        "flask run (Werkzeug, a thread per socket)"]
    for name, sent, received, errors, _ in rows:
        assert (sent, received, errors) == ("6", "6", "0"), name


def test_the_call_setup_benchmark_prints_its_ratio_and_stages():
    report = run("bench/call_setup.py", "--calls", "1")
    for ratio in ("app / loopback", "app, first visit / loopback", "bare pages / loopback",
                  "app / bare pages"):
        assert re.search(rf"ratio \({ratio}\)\s+\d+\.\d\dx", report), ratio
    for stage in ("camera ready", "sent offer", "received answer", "DTLS connected", "first frame"):
        assert stage in report


def test_the_python_peer_benchmark_prints_both_join_orders_and_the_reference():
    report = run("bench/python_peer.py", "--calls", "1")
    for row in ("browser waits, Python peer joins", "Python peer waits, browser joins",
                "browser to browser (reference)"):
        assert re.search(rf"{re.escape(row)}\s+\d+\s+\d+\s+\d+\.\d\dx", report), row


def test_the_redis_rooms_relay_many_rooms_at_once_and_lose_nothing():
    installed("redis-server", "redis-server")  # the benchmark starts its own
    # 300 sockets joining and relaying at once: more than a process's connections to Redis,
    # so they must wait for one, not fail (they did: "Too many connections").
    table = run("bench/relay.py", "--rooms", "150", "--bounces", "2", "--only", "Redis")
    rows = re.findall(r"^\s*(gunicorn gevent, Redis.+?)\s+150\s+300\s+[\d.]+\s+[\d.]+\s+\d+"
                      r"\s+(\d+)\s+(\d+)\s+(\d+)\s+[\d.]+x$", table.split("Signaling relay")[1], re.M)
    assert len(rows) == 2, table
    for name, sent, received, errors in rows:
        assert (sent, received, errors) == ("300", "300", "0"), name


def test_the_echo_load_benchmark_measures_the_cpu_frame_rate_and_relay_of_each_step():
    report = run("bench/echo_load.py", "--calls", "1", "--seconds", "3", "--settle", "0",
                 "--rooms", "2", "--bounces", "5").split("Echo calls")[1]
    assert re.search(r"^\s*none\s+[\d.]+\s+[\d.]+\s+10\s+10\s+0\s+1.00x$", report, re.M), report
    # frames/s back, the echo peer's CPU and the caller's, then the relay meanwhile
    step = re.search(r"^\s*1\s+([\d.]+)\s+(\d+)%\s+(\d+)%\s+[\d.]+\s+[\d.]+\s+10\s+10\s+0\s+[\d.]+x\s+(yes|no)$",
                     report, re.M)
    assert step, report
    frames_back, echo_cpu, caller_cpu, _ = step.groups()
    assert float(frames_back) > 0 and int(echo_cpu) > 0 and int(caller_cpu) > 0, report
    assert re.search(r"each echo peer used \d+% of a core", report), report


@pytest.mark.parametrize("others", ["browsers", "python"])
def test_the_group_call_benchmark_prints_a_row_per_group_size(others):
    report = run("bench/group_call.py", "--others", others, "--most", "3", "--seconds", "0.5")
    for size in (2, 3):  # people, set-up, CPU, then the upload of each one there
        assert re.search(rf"^\s*{size}\s+\d+\s+\d+(\s+\d+){{{size}}}\s*$", report, re.M), report


def test_the_idle_sockets_benchmark_measures_each_server_against_the_bare_relay():
    installed("redis-server", "redis-server")  # the benchmark starts its own
    report = run("bench/idle_sockets.py", "--sockets", "40", "--active-rooms", "3").split("Idle sockets")[1]
    rows = re.findall(r"^\s*(.+?)\s+40\s+\d+\s+\d+\s+-?[\d.]+\s+(?:-?[\d.]+x|n/a)\s+[\d.]+"
                      r"\s+[\d.]+\s+[\d.]+\s+60/60\s+0$", report, re.M)
    assert rows == ["bare asyncio relay (reference)", "gunicorn gevent, rooms in memory",
                    "gunicorn gevent, rooms in Redis"], report


def test_no_benchmark_script_or_test_imports_conftest():
    """conftest.py holds pytest's fixtures; what tests and benchmarks share lives in
    modules of its own (servers.py, harness.py, chromium.py), so that a benchmark runs
    without pytest and no fixture is imported by accident."""
    import ast
    importers = []
    for path in [*ROOT.glob("bench/*.py"), *ROOT.glob("scripts/*.py"), *ROOT.glob("tests/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module] if isinstance(node, ast.ImportFrom) else \
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if "conftest" in names:
                importers.append(path.relative_to(ROOT).as_posix())
    assert importers == []
