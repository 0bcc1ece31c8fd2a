# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The effective-configuration check of mailprivacy.gdpr.horde against a real Horde.

Horde reads conf.local.php after conf.php, and IMP backends.d/ before backends.local.php.
A conf.local.php that turns DEBUG logging back on must make the role fail, naming the key
but never the value; with horde_fail_on_override=false it must only warn. A new backends.d
drop-in with IMAP debugging is overridden in backends.local.php on the next run.
"""

from __future__ import annotations

import pytest

from conftest import BACKENDS_LOCAL, flat, run_playbook

LOCAL_CONF = "/etc/horde/horde/conf.local.php"
# Distinctive value: it must not show up in the role's output.
VALUE_MARKER = "/var/tmp/leakmarker.log"
OVERRIDE = "<?php\n$conf['log']['priority'] = 'DEBUG';\n$conf['log']['type'] = 'file';\n$conf['log']['name'] = '%s';\n" % VALUE_MARKER
DROPIN = "/etc/horde/imp/backends.d/60-mp-more-debug.php"


@pytest.fixture
def local_override(ct):
    ct.run_expect([0], "printf '%%s' %s > %s", OVERRIDE, LOCAL_CONF)
    try:
        yield
    finally:
        ct.run_expect([0], "rm -f %s", LOCAL_CONF)
        assert not ct.file(LOCAL_CONF).exists


@pytest.mark.usefixtures("local_override")
def test_role_fails_and_names_the_keys_not_the_values(ct):
    before = ct.file("/etc/horde/horde/conf.php").md5sum
    # In check mode too: an override is a finding, not drift the role would fix.
    run = run_playbook("converge.yml", "--tags", "horde_overrides", "--check")
    text = flat(run)
    assert run.returncode != 0, text
    assert "override the GDPR profile" in text
    assert "Horde conf log.priority" in text
    assert "Horde conf log.type" in text and "Horde conf log.name" in text
    assert VALUE_MARKER not in text
    assert ct.file("/etc/horde/horde/conf.php").md5sum == before


@pytest.mark.usefixtures("local_override")
def test_role_only_warns_when_asked_to(ct):
    run = run_playbook("converge.yml", "--tags", "horde_overrides", "-e", "horde_fail_on_override=false")
    text = flat(run)
    assert run.returncode == 0, text
    assert "WARNING: Other Horde configuration files" in text
    assert VALUE_MARKER not in text


def test_new_backend_debugging_is_turned_off_again(ct):
    ct.run_expect([0], "printf '%%s' %s > %s", "<?php\n$servers['advanced']['debug_raw'] = true;\n", DROPIN)
    try:
        # Check mode from the play keyword, as playbooks/compliance_check.yml runs it: the
        # pending change is drift, not an override (ansible_check_mode stays false there).
        check = run_playbook("converge.yml", "--diff", "-e", "mailprivacy_check_only=true")
        assert check.returncode == 0, flat(check)
        assert "changed=1" in check.stdout, flat(check)
        # The diff of backends.local.php is the drift report.
        assert "+$servers['advanced']['debug_raw'] = false;" in check.stdout, flat(check)
        assert "['advanced']['debug_raw'] = false" not in ct.file(BACKENDS_LOCAL).content_string
        run = run_playbook("converge.yml")
        assert run.returncode == 0, flat(run)
        assert "changed=1" in run.stdout, flat(run)
        assert "$servers['advanced']['debug_raw'] = false;" in ct.file(BACKENDS_LOCAL).content_string
    finally:
        ct.run_expect([0], "rm -f %s", DROPIN)
