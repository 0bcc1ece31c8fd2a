# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared fixtures of the dovecot scenario's verifier."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import testinfra


def _podman(*args):
    if not shutil.which("podman"):
        return None
    return subprocess.run(["podman"] + list(args), capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def ct(host):
    """The instance as a testinfra host.

    Molecule hands over an ansible:// host; every command through it is an Ansible
    run (seconds). When the instance is a local podman container, the podman://
    backend (podman exec) is used instead; the checks are the same.
    """
    name = host.backend.get_hostname()
    proc = _podman("container", "exists", name)
    if proc is not None and proc.returncode == 0:
        return testinfra.get_host("podman://" + name)
    return host


@pytest.fixture(scope="module")
def server_ip(host, ct):
    """The instance's address on the podman bridge, as the IMAP client reaches it."""
    proc = _podman("inspect", host.backend.get_hostname(), "--format", "{{.NetworkSettings.IPAddress}}")
    if proc is not None and proc.returncode == 0 and proc.stdout.strip():
        return proc.stdout.strip()
    return ct.check_output("hostname -I").split()[0]
