# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""horde_log_type=file: Horde's own log file, its permissions and rotation.

Runs the scenario's converge.yml again with horde_log_type=file, logs in through the web
stack, reads the file, then converges back to the defaults (syslog), which must remove
the role's logrotate rules again.
"""

from __future__ import annotations

import pytest

from conftest import (
    LOGROTATE_CONF,
    MARKER,
    PASSWORD,
    USER,
    WRONG_PASSWORD,
    client_address,
    effective_config,
    flat,
    login,
    run_playbook,
    wait_for,
)

LOG_FILE = "/var/log/horde/horde.log"


@pytest.fixture(scope="module")
def file_logging(ct):
    run = run_playbook("converge.yml", "-e", "horde_log_type=file")
    assert run.returncode == 0, flat(run)
    try:
        yield run
    finally:
        back = run_playbook("converge.yml")
        assert back.returncode == 0, flat(back)
        assert not ct.file(LOGROTATE_CONF).exists


def test_conf_points_horde_at_the_file(ct, file_logging):
    effective = effective_config(ct, horde=[["log", "type"], ["log", "name"], ["log", "params", "append"]])
    assert effective["horde"] == {
        "log.type": ["string", "file"],
        "log.name": ["string", LOG_FILE],
        "log.params.append": ["boolean", True],
    }


def test_log_file_permissions(ct, file_logging):
    log = ct.file(LOG_FILE)
    assert (log.user, log.group, log.mode) == ("www-data", "adm", 0o640)
    assert ct.file("/var/log/horde").mode == 0o755


def test_logrotate_rules_are_valid_and_bound_the_age(ct, file_logging):
    rules = ct.file(LOGROTATE_CONF)
    assert rules.contains(MARKER)
    assert rules.contains("^    maxage 14$") and rules.contains("^    daily$")
    assert rules.contains("^    create 0640 www-data adm$")
    debug = ct.run("logrotate --debug %s", LOGROTATE_CONF)
    assert debug.rc == 0, debug.stderr
    assert LOG_FILE in debug.stderr + debug.stdout


def test_file_log_has_no_user_or_address_of_a_successful_login(ct, base_url, file_logging):
    start = int(ct.check_output("stat -c %%s %s", LOG_FILE))
    assert login(base_url, USER, PASSWORD)["authenticated"] is True
    assert login(base_url, USER, WRONG_PASSWORD)["authenticated"] is False

    def new_text():
        return ct.check_output("tail -c +%s %s", str(start + 1), LOG_FILE)

    # The failed login's ERR line shows the file is written at all.
    assert wait_for(lambda: "FAILED LOGIN" in new_text(), timeout=30), new_text()
    lines = new_text().splitlines()
    client = client_address(base_url)
    leaking = [line for line in lines if (USER in line or client in line) and "FAILED LOGIN" not in line]
    assert not leaking
    assert not [line for line in lines if "Login success" in line]
