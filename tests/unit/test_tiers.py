"""The unit tier's rule holds by construction: a test here cannot start a process or a server
(tests/conftest.py), and every test here carries the ``unit`` marker."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest


def test_starting_a_process_raises_with_where_the_test_belongs():
    with pytest.raises(RuntimeError, match="move the test to tests/integration"):
        subprocess.run(["true"], check=False)
    with pytest.raises(RuntimeError, match="may not start a process"):
        os.system("true")


def test_listening_on_a_socket_raises():
    with socket.socket() as sock, pytest.raises(RuntimeError, match="may not start a server"):
        sock.bind(("127.0.0.1", 0))


def test_the_tier_is_the_folder(request):
    assert request.node.get_closest_marker("unit") is not None
    assert request.node.get_closest_marker("integration") is None
