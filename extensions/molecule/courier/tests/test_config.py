# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Packages, services, the rsyslog filter and the courierlogger facility."""

from __future__ import annotations

import pytest
from conftest import (
    ALL_HOSTS,
    DEBUG_ERA_HOST,
    FACILITY,
    MARKER,
    RSYSLOG_DROPIN,
    hostname,
    process_cmdline,
    unit_main_pid,
)

testinfra_hosts = ALL_HOSTS

LOGGEROPTS = [
    ("imapd", "LOGGEROPTS", "imapd", "courier-imap.service"),
    ("imapd-ssl", "SSLLOGGEROPTS", "imapd-ssl", "courier-imap-ssl.service"),
    ("pop3d", "LOGGEROPTS", "pop3d", "courier-pop.service"),
    ("pop3d-ssl", "SSLLOGGEROPTS", "pop3d-ssl", "courier-pop-ssl.service"),
]


@pytest.mark.parametrize(
    "package",
    # courier-authlib-userdb comes with courier-mta (courier-base depends on it).
    ["courier-authdaemon", "courier-imap", "courier-pop", "courier-mta", "courier-authlib-userdb"],
)
def test_packages_installed(host, package):
    assert host.package(package).is_installed


@pytest.mark.parametrize("name", ["courier-authdaemon", "courier-imap", "courier-pop"])
def test_services_running(host, name):
    assert host.service(name).is_running


@pytest.mark.parametrize("name,variable,tag,unit", LOGGEROPTS)
def test_loggeropts_set_the_facility(host, name, variable, tag, unit):
    content = host.file("/etc/courier/" + name).content_string
    lines = [line for line in content.splitlines() if line.startswith(variable + "=")]
    assert lines == ['%s="-name=%s -facility=%s"' % (variable, tag, FACILITY)]
    # ... and the running courierlogger was restarted with it.
    cmdline = process_cmdline(host, unit_main_pid(host, unit))
    assert "-name=%s -facility=%s " % (tag, FACILITY) in cmdline


def test_rsyslog_filter(host):
    if hostname(host) != DEBUG_ERA_HOST:
        pytest.skip("no rsyslog on the fresh host")
    dropin = host.file(RSYSLOG_DROPIN)
    assert dropin.is_file
    assert dropin.user == "root" and dropin.group == "root" and dropin.mode == 0o644
    assert MARKER in dropin.content_string
    assert (
        'if $programname == ["imapd", "imapd-ssl", "pop3d", "pop3d-ssl", "authdaemond"]'
        " and $syslogseverity-text == 'debug' then stop" in dropin.content_string
    )
    assert host.run("rsyslogd -N1").rc == 0
    assert host.service("rsyslog").is_running
