# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared data and helpers of the horde scenario's verifier (testinfra)."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time

import pytest
import testinfra
import yaml

SCENARIO_DIR = pathlib.Path(__file__).resolve().parent.parent
FILES_DIR = SCENARIO_DIR / "files"
TEST_DATA = yaml.safe_load((SCENARIO_DIR / "vars" / "test_data.yml").read_text())
sys.path.insert(0, str(FILES_DIR))

from horde_login import login  # noqa: E402  pylint: disable=wrong-import-position

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


def podman(*args):
    if not shutil.which("podman"):
        return None
    return subprocess.run(["podman"] + list(args), capture_output=True, text=True, check=False)


def get_host(name):
    proc = podman("container", "exists", name)
    if proc is not None and proc.returncode == 0:
        return testinfra.get_host("podman://" + name)
    return testinfra.get_host("ansible://" + name, ansible_inventory=os.environ.get("MOLECULE_INVENTORY_FILE"))


@pytest.fixture(scope="session")
def ct():
    """mp-horde through podman exec (much faster than ansible:// per command)."""
    return get_host(HOST)


@pytest.fixture(scope="session")
def bare():
    return get_host(BARE_HOST)


@pytest.fixture(scope="session")
def base_url(ct):
    """Horde's URL on the podman bridge, as an HTTP client on the controller reaches it."""
    proc = podman("inspect", HOST, "--format", "{{.NetworkSettings.IPAddress}}")
    if proc is not None and proc.returncode == 0 and proc.stdout.strip():
        address = proc.stdout.strip()
    else:
        address = ct.check_output("hostname -I").split()[0]
    return "http://%s/horde" % address


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
    cmd = "journalctl --no-pager -q -o json _SYSTEMD_UNIT=apache2.service"
    if after:
        cmd += " --after-cursor='%s'" % after
    entries = [json.loads(line) for line in ct.check_output(cmd).splitlines() if line.strip()]
    if before:
        entries = [e for e in entries if e["__CURSOR"] != before]
    return entries


def message(entry):
    value = entry.get("MESSAGE", "")
    if isinstance(value, list):  # journald sends non-UTF-8 messages as byte arrays
        value = bytes(value).decode("utf-8", "replace")
    return value


def wait_for(predicate, timeout=30.0, interval=0.5):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result or time.monotonic() >= deadline:
            return result
        time.sleep(interval)


def ansible_playbook():
    found = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    return found if os.path.exists(found) else shutil.which("ansible-playbook")


def run_playbook(playbook, *extra, limit=HOST):
    """Run a playbook of this scenario against the Molecule inventory, as Molecule does."""
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    project = os.environ["MOLECULE_PROJECT_DIRECTORY"]
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(project, ".build", "collections"))
    cmd = [
        ansible_playbook(),
        "-i", os.environ["MOLECULE_INVENTORY_FILE"],
        "--limit", limit,
        str(SCENARIO_DIR / playbook),
    ] + list(extra)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)


def flat(run):
    """stdout and stderr with YAML line folding and quote doubling undone."""
    text = (run.stdout + run.stderr).replace("''", "'")
    return " ".join(text.split())


__all__ = ["login"]
