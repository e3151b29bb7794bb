"""Cutting a call's network paths with iptables, as a network that changes under a call
would: the ICE restart tests use it. It needs root (make test installs iptables as root)."""

import contextlib
import os
import shutil
import subprocess

import pytest

needs_iptables = pytest.mark.skipif(
    os.geteuid() != 0 or not (shutil.which("iptables") and shutil.which("ip6tables")),
    reason="blocking a candidate pair needs root and iptables (make test installs it as root)")


@contextlib.contextmanager
def ports_blocked(ports):
    """Drop incoming packets to these (protocol, port)s, IPv4 and IPv6; the rules are
    removed afterwards."""
    rules = [(tool, "INPUT", "-p", protocol, "--dport", str(port), "-j", "DROP")
             for protocol, port in ports for tool in ("iptables", "ip6tables")]
    for tool, *rule in rules:
        subprocess.run([tool, "-I", *rule], check=True)
    try:
        yield
    finally:
        for tool, *rule in rules:
            subprocess.run([tool, "-D", *rule], check=True)


def candidate_ports(*people):
    """Every (protocol, port) of the candidates these people's calls have gathered or been
    sent, once each has gathered all of its own: so that every path can be cut."""
    for someone in people:
        someone.page.wait_for_function("harness.currentPeerConnection().iceGatheringState === 'complete'")
    return {tuple(port) for someone in people for port in someone.page.evaluate("harness.candidatePorts()")}
