# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The effective-configuration check of mailprivacy.gdpr.horde against a real Horde.

Horde reads conf.local.php after conf.php, and IMP backends.d/ before backends.local.php.
A conf.local.php that turns DEBUG logging back on must make the role fail, naming the key
but never the value; with horde_fail_on_override=false it must only warn. A new backends.d
drop-in with IMAP debugging is overridden in backends.local.php on the next run.

The check never runs these files: code that the web server user writes into conf.d is not
run (in check mode neither) and its computed keys stop the role, naming key, file and line; a
symbolic link among the files is refused unread; a backend debug setting that only PHP could
compute is turned off in backends.local.php.
"""

from __future__ import annotations

import pytest

from conftest import BACKENDS_LOCAL, effective_config, flat, run_playbook

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


# The web server user may write Horde's configuration (Horde's setup screens do): code it puts
# there must never run as root. The role used to run these files with PHP as root.
CODE_DIR = "/etc/horde/horde/conf.d"
CODE_FILE = CODE_DIR + "/50-mp-code.php"
PWNED = ["/var/tmp/mp-horde-pwned-%d" % n for n in range(4)]
CODE = (
    "<?php\n"
    "touch('%s');\n"
    "system('touch %s');\n"
    "$conf['log']['priority'] = exec('touch %s') === '' ? 'WARNING' : 'WARNING';\n"
    "if (file_put_contents('%s', 'x')) {\n"
    "    $conf['log']['type'] = 'syslog';\n"
    "}\n" % tuple(PWNED)
)


@pytest.fixture
def code_in_conf_d(ct):
    created = not ct.file(CODE_DIR).exists
    ct.run_expect([0], "mkdir -p %s && chown www-data %s", CODE_DIR, CODE_DIR)
    # written by the web server user, as Horde's setup screens write configuration files
    ct.run_expect([0], "runuser -u www-data -- sh -c %s %s", "printf '%%s' \"$0\" > %s" % CODE_FILE, CODE)
    try:
        yield
    finally:
        ct.run_expect([0], "rm -f" + " %s" * (1 + len(PWNED)), CODE_FILE, *PWNED)
        if created:
            ct.run_expect([0], "rmdir %s", CODE_DIR)
        else:
            ct.run_expect([0], "chown root %s", CODE_DIR)


@pytest.mark.usefixtures("code_in_conf_d")
@pytest.mark.parametrize("mode", [["--check"], ["-e", "mailprivacy_check_only=true"], []], ids=["check", "play check_mode", "apply"])
def test_code_written_by_the_web_server_is_never_run_as_root(ct, mode):
    before = ct.file("/etc/horde/horde/conf.php").md5sum
    run = run_playbook("converge.yml", *mode)
    text = flat(run)
    assert [path for path in PWNED if ct.file(path).exists] == [], "the role ran code of a configuration file"
    assert run.returncode != 0, text
    assert "cannot be read with certainty without running PHP" in text
    assert "horde: log.priority: %s: line 4: only running PHP could tell" % CODE_FILE in text
    assert "horde: log.type: %s: line 6: only running PHP could tell" % CODE_FILE in text
    assert ct.file("/etc/horde/horde/conf.php").md5sum == before


def test_a_symbolic_link_among_the_files_is_refused_unread(ct):
    ct.run_expect([0], "printf '%%s' %s > /var/tmp/mp-elsewhere.php", "<?php\n$conf['log']['name'] = '%s';\n" % VALUE_MARKER)
    ct.run_expect([0], "ln -s /var/tmp/mp-elsewhere.php %s", LOCAL_CONF)
    try:
        run = run_playbook("converge.yml", "--check")
        text = flat(run)
        assert run.returncode != 0, text
        assert "horde: %s is a symbolic link" % LOCAL_CONF in text
        assert VALUE_MARKER not in text
    finally:
        ct.run_expect([0], "rm -f %s /var/tmp/mp-elsewhere.php", LOCAL_CONF)


def test_a_computed_backend_debug_setting_is_turned_off(ct):
    """getenv() cannot be read without PHP: the key counts as on, the role writes false into
    backends.local.php (read last), and Horde ends up with false."""
    dropin = "/etc/horde/imp/backends.d/70-mp-env.php"
    ct.run_expect([0], "printf '%%s' %s > %s", "<?php\n$servers['pop']['debug'] = getenv('IMP_DEBUG') ?: '/tmp/pop.log';\n", dropin)
    try:
        run = run_playbook("converge.yml")
        assert run.returncode == 0, flat(run)
        assert "changed=1" in run.stdout, flat(run)
        assert "$servers['pop']['debug'] = false;" in ct.file(BACKENDS_LOCAL).content_string
        assert effective_config(ct, backends=[["debug"]])["backends"]["pop"]["debug"] == ["boolean", False]
        again = run_playbook("converge.yml")
        assert again.returncode == 0 and "changed=0" in again.stdout, flat(again)
    finally:
        ct.run_expect([0], "rm -f %s", dropin)
        ct.run_expect([0], "sed -i %s %s", "/\\['pop'\\]\\['debug'\\] = false;/d", BACKENDS_LOCAL)
