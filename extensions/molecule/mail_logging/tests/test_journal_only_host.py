"""The journald-only host (no rsyslog): nothing rsyslog- or logrotate-related is created."""

from conftest import LOGROTATE_FILE, RSYSLOG_DROPIN, journal_has, wait_for

testinfra_hosts = ["podman://mp-mail-logging-journal"]


def test_rsyslog_and_logrotate_not_installed(host):
    """mail_logging_install_rsyslog defaults to false: the role installs nothing."""
    assert not host.package("rsyslog").is_installed
    assert not host.package("logrotate").is_installed


def test_no_rsyslog_or_logrotate_files(host):
    assert not host.file(RSYSLOG_DROPIN).exists
    assert not host.file(LOGROTATE_FILE).exists
    assert not host.file("/etc/rsyslog.d").exists
    assert not host.file("/var/log/mail.log").exists


def test_mail_lines_reach_the_journal(host, unique):
    tag = f"mp-test-{unique}"
    host.run("logger -t %s -p mail.info %s", tag, f"journal-info-{unique}")
    assert wait_for(lambda: journal_has(host, tag, f"journal-info-{unique}"))
