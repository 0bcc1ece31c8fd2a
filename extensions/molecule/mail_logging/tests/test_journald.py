"""journald retention on every host (with and without rsyslog)."""

import re

from conftest import (
    JOURNALD_DROPIN,
    MARKER,
    RETENTION_DAYS,
    RUNTIME_MAX_USE,
    SYSTEM_MAX_FILE_SIZE,
    SYSTEM_MAX_USE,
    journal_has,
    wait_for,
)

testinfra_hosts = ["podman://mp-mail-logging", "podman://mp-mail-logging-journal"]

EXPECTED = {
    "MaxRetentionSec": f"{RETENTION_DAYS}day",
    "MaxFileSec": "1day",
    "SystemMaxUse": SYSTEM_MAX_USE,
    "SystemMaxFileSize": SYSTEM_MAX_FILE_SIZE,
    "RuntimeMaxUse": RUNTIME_MAX_USE,
}


def test_dropin_file(host):
    f = host.file(JOURNALD_DROPIN)
    assert f.is_file
    assert f.user == "root"
    assert f.group == "root"
    assert f.mode == 0o644
    lines = f.content_string.splitlines()
    assert "Ansible managed" in f.content_string
    assert MARKER in lines
    assert "[Journal]" in lines
    for key, value in EXPECTED.items():
        assert f"{key}={value}" in lines
    # journald's default (store debug) is kept unless mail_logging_journald_max_level_store is set.
    assert "MaxLevelStore" not in f.content_string


def test_dropin_is_the_effective_configuration(host):
    """The last assignment in systemd's merged view of journald.conf wins."""
    out = host.check_output("systemd-analyze cat-config systemd/journald.conf")
    effective = {}
    for line in out.splitlines():
        m = re.match(r"^\s*([A-Za-z]+)=(.*)$", line)
        if m:
            effective[m.group(1)] = m.group(2).strip()
    for key, value in EXPECTED.items():
        assert effective.get(key) == value, key


def test_running_journald_applies_the_size_cap(host):
    """journald reports its effective SystemMaxUse when it starts (restarted by the handler)."""
    assert host.service("systemd-journald").is_running
    out = host.check_output("journalctl --no-pager -q -o cat -u systemd-journald.service")
    reports = [line for line in out.splitlines() if line.startswith("System Journal (")]
    assert reports, out
    # journald prints sizes with one decimal: 256M -> "max 256.0M".
    expected = f", max {SYSTEM_MAX_USE[:-1]}.0{SYSTEM_MAX_USE[-1]}, "
    assert expected in reports[-1], reports[-1]


def test_mail_debug_lines_stay_in_the_journal(host, unique):
    """Documented behaviour: journald keeps debug lines (MaxLevelStore=debug, its default);
    the retention above is the control for them."""
    tag = f"mp-test-{unique}"
    host.run("logger -t %s -p mail.debug %s", tag, f"journal-debug-{unique}")
    assert wait_for(lambda: journal_has(host, tag, f"journal-debug-{unique}"))


def test_journal_rewrite_tool_installed_with_its_network_units_off(host):
    """subject_erase rewrites archived journal files through systemd-journal-remote; the
    package must not open a port (its units stay disabled and inactive)."""
    assert host.package("systemd-journal-remote").is_installed
    assert host.file("/lib/systemd/systemd-journal-remote").mode & 0o111
    for unit in ("systemd-journal-remote.socket", "systemd-journal-remote.service",
                 "systemd-journal-upload.service", "systemd-journal-gatewayd.socket"):
        enabled = host.run("systemctl is-enabled %s", unit).stdout.strip()
        assert enabled in ("disabled", "static", "indirect", "masked"), (unit, enabled)
        assert host.run("systemctl is-active %s", unit).stdout.strip() != "active", unit
    listening = host.run("cat /proc/net/tcp /proc/net/tcp6").stdout.lower()
    for port in (19531, 19532):  # gatewayd, remote
        assert ":%04x " % port not in listening
