# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared data and helpers of the horde scenario's verifier (testinfra)."""

from __future__ import annotations

import json
import pathlib
import socket
import sys

import pytest
import yaml

SCENARIO_DIR = pathlib.Path(__file__).resolve().parent.parent
FILES_DIR = SCENARIO_DIR / "files"
TEST_DATA = yaml.safe_load((SCENARIO_DIR / "vars" / "test_data.yml").read_text())
# files/ (horde_login) and the helpers shared by every scenario's verifier (verify_helpers)
sys.path[:0] = [str(FILES_DIR), str(SCENARIO_DIR.parent / "shared")]

from horde_login import login  # noqa: E402  pylint: disable=wrong-import-position
# flat and wait_for: for the test modules (from conftest import ...)
from verify_helpers import (  # noqa: E402  pylint: disable=wrong-import-position
    container_address,
    flat,
    journal_json,
    podman_host,
    wait_for,
)
from verify_helpers import run_playbook as _run_playbook  # noqa: E402  pylint: disable=wrong-import-position

HOST = "mp-horde"
BARE_HOST = "mp-horde-bare"
USER = TEST_DATA["horde_test_user"]
PASSWORD = TEST_DATA["horde_test_password"]
WRONG_PASSWORD = TEST_DATA["horde_test_wrong_password"]
FIXTURE_DIR = "/usr/local/share/mp-horde-test"
MARKER = "mailprivacy.gdpr:horde"
HORDE_CONF = "/etc/horde/horde/conf.php"
IMP_CONF = "/etc/horde/imp/conf.php"
BACKENDS_LOCAL = "/etc/horde/imp/backends.local.php"
TMPFILES_CONF = "/etc/tmpfiles.d/mailprivacy-gdpr-horde.conf"
LOGROTATE_CONF = "/etc/logrotate.d/horde"


@pytest.fixture(scope="session")
def ct():
    """mp-horde through podman exec (much faster than ansible:// per command)."""
    return podman_host(HOST)


@pytest.fixture(scope="session")
def bare():
    return podman_host(BARE_HOST)


@pytest.fixture(scope="session")
def base_url(ct):
    """Horde's URL on the podman bridge, as an HTTP client on the controller reaches it."""
    return "http://%s/horde" % container_address(HOST, ct)


def effective_config(ct, horde=(), imp=(), backends=()):
    """Horde's effective configuration as Horde loads it (files/horde-config-dump.php)."""
    request = json.dumps({"horde": list(horde), "imp": list(imp), "backends": list(backends)})
    out = ct.check_output("php " + FIXTURE_DIR + "/horde-config-dump.php %s", request)
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="session", autouse=True)
def config_dump_installed(ct):
    """Copy the verifier's PHP helper into the container once."""
    source = (FILES_DIR / "horde-config-dump.php").read_text()
    ct.run_expect([0], "mkdir -p %s && cat > %s/horde-config-dump.php <<'MPEOF'\n%s\nMPEOF" % (FIXTURE_DIR, FIXTURE_DIR, source))


def client_address(base_url):
    """The address the container sees for connections from this machine."""
    host = base_url.split("//", 1)[1].split("/", 1)[0]
    with socket.create_connection((host, 80), timeout=30) as sock:
        return sock.getsockname()[0]


def journal_cursor(ct):
    out = ct.check_output("journalctl --no-pager -n 0 --show-cursor")
    return out.strip().split("cursor: ", 1)[1]


def horde_entries(ct, after=None, before=None):
    """Journal entries written by the web server (Horde's syslog lines), as dicts."""
    ct.run("journalctl --sync")
    if after:
        entries = journal_json(ct, "_SYSTEMD_UNIT=apache2.service --after-cursor=%s", after)
    else:
        entries = journal_json(ct, "_SYSTEMD_UNIT=apache2.service")
    if before:
        entries = [e for e in entries if e["__CURSOR"] != before]
    return entries


def message(entry):
    value = entry.get("MESSAGE", "")
    if isinstance(value, list):  # journald sends non-UTF-8 messages as byte arrays
        value = bytes(value).decode("utf-8", "replace")
    return value


def run_playbook(playbook, *extra, limit=HOST):
    """Run a playbook of this scenario against the Molecule inventory, as Molecule does."""
    return _run_playbook(SCENARIO_DIR / playbook, *extra, limit=limit, timeout=600)


__all__ = ["flat", "login", "wait_for"]
