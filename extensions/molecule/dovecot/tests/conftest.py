# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared fixtures of the dovecot scenario's verifier."""

from __future__ import annotations

import pathlib
import sys

import pytest

# the helpers shared by every scenario's verifier (verify_helpers, live_redaction)
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))

from verify_helpers import container_address, podman_host  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope="module")
def ct(host):
    """The instance as a testinfra host.

    Molecule hands over an ansible:// host; every command through it is an Ansible
    run (seconds). When the instance is a local podman container, the podman://
    backend (podman exec) is used instead; the checks are the same.
    """
    return podman_host(host.backend.get_hostname(), fallback=host)


@pytest.fixture(scope="module")
def server_ip(host, ct):
    """The instance's address on the podman bridge, as the IMAP client reaches it."""
    return container_address(host.backend.get_hostname(), ct)
