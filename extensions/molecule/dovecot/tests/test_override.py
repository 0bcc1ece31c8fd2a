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
import shutil
import subprocess
import sys

import pytest

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


def ansible_playbook():
    found = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    return found if os.path.exists(found) else shutil.which("ansible-playbook")


def flat(run):
    """stdout and stderr with YAML line folding and quote doubling undone."""
    text = (run.stdout + run.stderr).replace("''", "'")
    return " ".join(text.split())


def converge(*extra, tags="dovecot_packages,dovecot_overrides"):
    """Run the scenario's converge.yml, as Molecule does, and return the result.

    Only the tasks that find out whether Dovecot is installed and the checks
    under test run (tags); the rest is covered by converge and idempotence.
    """
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    project = os.environ["MOLECULE_PROJECT_DIRECTORY"]
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(project, ".build", "collections"))
    cmd = [
        ansible_playbook(),
        "-i", os.environ["MOLECULE_INVENTORY_FILE"],
        os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], "converge.yml"),
        "--tags", tags,
    ] + list(extra)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)


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
