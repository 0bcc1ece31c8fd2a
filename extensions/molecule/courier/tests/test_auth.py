# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DEBUG_LOGIN: 0 in authdaemonrc, absent from the daemons' files, 0 in the running
processes; and the role refuses DEBUG_LOGIN=2."""

from __future__ import annotations

import os
import textwrap

import pytest
from conftest import ALL_HOSTS, DAEMON_FILES, FRESH_HOST, process_environ, unit_main_pid
from verify_helpers import run_playbook

testinfra_hosts = ALL_HOSTS


def test_authdaemonrc_sets_debug_login_0_once(host):
    content = host.file("/etc/courier/authdaemonrc").content_string
    lines = [
        line.strip()
        for line in content.splitlines()
        if "DEBUG_LOGIN=" in line and not line.lstrip().startswith("#")
    ]
    assert lines == ["DEBUG_LOGIN=0"]


@pytest.mark.parametrize("name", DAEMON_FILES)
def test_no_debug_login_in_daemon_files(host, name):
    config = host.file("/etc/courier/" + name)
    if not config.exists:
        pytest.skip("%s is not installed" % config.path)
    assert (
        host.run("grep -nE '^[[:space:]]*(export[[:space:]]+)?DEBUG_LOGIN' %s", config.path).rc == 1
    )


@pytest.mark.parametrize(
    "unit",
    [
        "courier-authdaemon.service",
        "courier-imap.service",
        "courier-imap-ssl.service",
        "courier-pop.service",
        "courier-pop-ssl.service",
    ],
)
def test_running_daemons_have_debug_login_off(host, unit):
    """The restart happened: the running courierlogger (and so its children) got DEBUG_LOGIN
    from the files; 0 from authdaemonrc, unset from the others."""
    assert host.service(unit.removesuffix(".service")).is_running
    environ = process_environ(host, unit_main_pid(host, unit))
    assert environ.get("DEBUG_LOGIN", "0") == "0"


def _run_role(tmp_path, extra_vars, rolespec_validate):
    """Apply the role in check mode to the fresh host with extra vars; return the process."""
    inventory = os.environ.get("MOLECULE_INVENTORY_FILE")
    if not inventory:
        pytest.skip("needs Molecule's inventory (MOLECULE_INVENTORY_FILE)")
    playbook = tmp_path / "refuse.yml"
    playbook.write_text(textwrap.dedent("""\
            - name: Try a forbidden value
              hosts: %s
              gather_facts: false
              tasks:
                - name: Apply the role
                  ansible.builtin.include_role:
                    name: mailprivacy.gdpr.courier
                    rolespec_validate: %s
            """ % (FRESH_HOST, "true" if rolespec_validate else "false")))
    return run_playbook(playbook, "--check", "-e", extra_vars, timeout=300)


@pytest.mark.parametrize("rolespec_validate", [True, False], ids=["argument_spec", "assert"])
def test_role_refuses_debug_login_2(host, tmp_path, rolespec_validate):
    if host.backend.get_hostname() != FRESH_HOST:
        pytest.skip("run once, against the fresh host")
    proc = _run_role(tmp_path, '{"courier_debug_login": 2}', rolespec_validate)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    if rolespec_validate:
        assert "courier_debug_login" in output and "0, 1" in output, output
    else:
        assert "courier_debug_login=2 is refused" in output, output
        assert "clear" in output, output
