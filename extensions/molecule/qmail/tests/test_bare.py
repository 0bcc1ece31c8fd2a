# Copyright: mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verifier for mailprivacy.gdpr.qmail on mp-qmail-bare: a host without qmail.

The role installs daemontools and ucspi-tcp, writes the layout with its defaults, and
links nothing into svscan's scan directory because qmail's programs are missing.
"""

import pytest

# testinfra's podman backend (podman exec): much faster than the ansible backend.
testinfra_hosts = ["podman://mp-qmail-bare"]

SERVICES = ["qmail-send", "qmail-smtpd"]


@pytest.mark.parametrize("package", ["daemontools", "daemontools-run", "ucspi-tcp"])
def test_packages(host, package):
    assert host.package(package).is_installed


def test_no_qmail_was_pretended(host):
    assert not host.file("/var/qmail/bin/qmail-send").exists
    assert not host.file("/var/qmail/bin/qmail-smtpd").exists
    for service in SERVICES:
        assert not host.file("/etc/service/%s" % service).exists
    assert host.run("pgrep -x supervise").rc == 1
    assert host.service("daemontools-run").is_running


@pytest.mark.parametrize("service", SERVICES)
def test_layout_is_written(host, service):
    run = host.file("/var/qmail/supervise/%s/run" % service)
    log_run = host.file("/var/qmail/supervise/%s/log/run" % service)
    for path in (run, log_run):
        assert path.mode == 0o755
        assert path.content_string.startswith("#!/bin/sh\n")
        assert "# mailprivacy.gdpr:qmail\n" in path.content_string
    assert "recordio" not in run.content_string
    assert " -v " not in run.content_string
    assert "multilog t " in log_run.content_string
    assert " s1000000 n20 " in log_run.content_string


def test_smtpd_defaults(host):
    run = host.file("/var/qmail/supervise/qmail-smtpd/run").content_string
    assert '/usr/bin/tcpserver -H -R -l "$LOCAL"' in run
    assert "-x /etc/tcp.smtp.cdb -c 20" in run
    assert "0 25 /var/qmail/bin/qmail-smtpd" in run
    log_run = host.file("/var/qmail/supervise/qmail-smtpd/log/run").content_string
    assert "'-* tcpserver: pid *' '-* tcpserver: ok *'" in log_run
    assert log_run.rstrip().endswith("/var/log/qmail/smtpd")


def test_default_queuelifetime(host):
    control = "/var/qmail/control/queuelifetime"
    assert host.file(control).content_string.strip() == "432000"
    assert int(host.check_output("wc -c < %s", control)) == len("432000\n")


def test_log_user_was_created(host):
    user = host.user("qmaill")
    assert user.exists
    assert user.group == "nofiles"
    assert user.home == "/var/qmail"
    assert user.shell == "/usr/sbin/nologin"


def test_cleanup_runs_on_a_host_without_services(host):
    assert host.service("mailprivacy-qmail-log-cleanup.timer").is_enabled
    assert host.service("mailprivacy-qmail-log-cleanup.timer").is_running
    host.run_test("systemctl start mailprivacy-qmail-log-cleanup.service")
    result = host.check_output("systemctl show -p Result --value mailprivacy-qmail-log-cleanup.service")
    assert result == "success"
