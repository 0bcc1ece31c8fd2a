# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The safety checks of mailprivacy.gdpr.dovecot against a real Dovecot.

A candidate local.conf that Dovecot cannot load is refused by `validate:`
(doveconf -x -n) and the live file is left alone.

A conf.d file re-enables debug logging and protocol transcripts inside filter
blocks, where the top-level profile in local.conf cannot reach. Running the
scenario's converge.yml again must fail and name block and setting, but never
print the values; with dovecot_fail_on_override=false it must only warn.
"""

from __future__ import annotations

import os

import pytest
from verify_helpers import flat, run_playbook

OVERRIDE_FILE = "/etc/dovecot/conf.d/99-molecule-override.conf"
# Distinctive value: it must not show up in the role's output.
VALUE_MARKER = "leakmarker"
OVERRIDE = """\
protocol imap {
  mail_debug = yes
  rawlog_dir = /var/tmp/%s/%%u
}
remote 10.0.0.0/8 {
  protocol imap {
    verbose_ssl = yes
  }
}
""" % VALUE_MARKER


def converge(*extra, tags="dovecot_packages,dovecot_overrides"):
    """Run the scenario's converge.yml, as Molecule does, and return the result.

    Only the tasks that find out whether Dovecot is installed and the checks
    under test run (tags); the rest is covered by converge and idempotence.
    """
    playbook = os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], "converge.yml")
    return run_playbook(playbook, "--tags", tags, *extra, timeout=300)


@pytest.fixture
def override(ct):
    ct.run_expect([0], "printf '%%s' '%s' > %s" % (OVERRIDE, OVERRIDE_FILE))
    try:
        yield
    finally:
        ct.run_expect([0], "rm -f %s" % OVERRIDE_FILE)
        assert not ct.file(OVERRIDE_FILE).exists


@pytest.mark.usefixtures("override")
def test_role_fails_and_names_block_and_setting(ct):
    run = converge()
    output = flat(run)
    assert run.returncode != 0, output
    assert "Fail on settings that override the GDPR profile" in output
    assert "[protocol imap] mail_debug" in output
    assert "[protocol imap] rawlog_dir" in output
    assert "[remote 10.0.0.0/8 > protocol imap] verbose_ssl" in output
    # Names, never values.
    assert VALUE_MARKER not in output
    # Failing changed nothing: the running configuration is still the profile.
    assert ct.check_output("doveconf -h mail_debug") == "no"


@pytest.mark.usefixtures("override")
def test_role_only_warns_when_asked(ct):
    run = converge("-e", "dovecot_fail_on_override=false")
    output = flat(run)
    assert run.returncode == 0, output
    assert "WARNING: Settings elsewhere in Dovecot's configuration override" in output
    assert "[protocol imap] mail_debug" in output
    assert VALUE_MARKER not in output
    assert "changed=0" in output


def test_local_conf_that_dovecot_cannot_load_is_refused(ct):
    before = ct.file("/etc/dovecot/local.conf").sha256sum
    run = converge("-e", "dovecot_ssl_cert_path=/etc/nonexistent/cert.pem",
                   tags="dovecot_packages,dovecot_config")
    output = flat(run)
    assert run.returncode != 0, output
    assert "Write the GDPR profile to local.conf" in output
    assert "failed to validate" in output
    assert "Can't open file /etc/nonexistent/cert.pem" in output
    assert ct.file("/etc/dovecot/local.conf").sha256sum == before
