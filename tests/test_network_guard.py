"""The autouse guard really stops a request that would leave the machine."""

from __future__ import annotations

import socket

import boto3
import pytest
from botocore.exceptions import BotoCoreError

from tests.conftest import NetworkGuard, NetworkLeak


def test_connect_to_a_public_address_fails(network_guard: NetworkGuard) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(NetworkLeak):
        sock.connect(("198.51.100.7", 443))
    assert network_guard.leaks == ["connect ('198.51.100.7', 443)"]
    network_guard.leaks.clear()  # provoked on purpose


def test_resolving_a_public_name_fails(network_guard: NetworkGuard) -> None:
    with pytest.raises(NetworkLeak):
        socket.getaddrinfo("sts.amazonaws.com", 443)
    assert network_guard.leaks
    network_guard.leaks.clear()


def test_a_swallowed_leak_is_still_recorded(network_guard: NetworkGuard) -> None:
    """boto3 wraps the guard's error; code under test may swallow it. The guard still knows."""
    client = boto3.client("sts", region_name="us-east-1")
    with pytest.raises(BotoCoreError):
        client.get_caller_identity()
    assert any("amazonaws.com" in leak for leak in network_guard.leaks)
    network_guard.leaks.clear()


def test_loopback_is_allowed() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=2):
            pass
