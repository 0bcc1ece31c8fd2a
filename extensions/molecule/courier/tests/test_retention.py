# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IMAP_EMPTYTRASH, the MTA queuetime and the expiry of /var/lib/courier/track."""

from __future__ import annotations

import pytest
from conftest import (
    AGED_TRACK_FILE,
    ALL_HOSTS,
    DEBUG_ERA_HOST,
    EMPTYTRASH,
    MARKER,
    QUEUETIME,
    TMPFILES_CONF,
    TRACK_MAX_AGE,
    hostname,
    process_environ,
    unit_main_pid,
)

testinfra_hosts = ALL_HOSTS

TRACK_DIR = "/var/lib/courier/track"


def _assignments(host, path, variable):
    content = host.file(path).content_string
    return [line for line in content.splitlines() if line.startswith(variable + "=")]


def test_imap_emptytrash(host):
    assert _assignments(host, "/etc/courier/imapd", "IMAP_EMPTYTRASH") == [
        "IMAP_EMPTYTRASH=" + EMPTYTRASH
    ]
    # prepare.yml put a one-year override into imapd-ssl (sourced after imapd): removed.
    assert _assignments(host, "/etc/courier/imapd-ssl", "IMAP_EMPTYTRASH") == []


@pytest.mark.parametrize("unit", ["courier-imap.service", "courier-imap-ssl.service"])
def test_running_imapd_uses_the_emptytrash_value(host, unit):
    assert process_environ(host, unit_main_pid(host, unit)).get("IMAP_EMPTYTRASH") == EMPTYTRASH


def test_queuetime(host):
    queuetime = host.file("/etc/courier/queuetime")
    assert queuetime.is_file
    assert queuetime.content_string == QUEUETIME + "\n"
    assert queuetime.user == "root" and queuetime.mode == 0o644


def test_courierd_running(host):
    assert host.service("courier").is_running


def test_tmpfiles_rule(host):
    rule = host.file(TMPFILES_CONF)
    assert rule.is_file and rule.mode == 0o644
    assert MARKER in rule.content_string
    assert "e %s - - - m:%s" % (TRACK_DIR, TRACK_MAX_AGE) in rule.content_string.splitlines()
    # systemd-tmpfiles sees it, and its daily timer runs.
    assert "m:" + TRACK_MAX_AGE in host.check_output("systemd-tmpfiles --cat-config")
    assert host.service("systemd-tmpfiles-clean.timer").is_running


def test_track_directory_untouched(host):
    track = host.file(TRACK_DIR)
    assert track.is_directory
    assert track.user == "courier" and track.group == "courier" and track.mode == 0o750


def test_converge_removed_the_old_track_file(host):
    """prepare.yml left a three-day-old file (named after a future hour, so courierd's own
    purge keeps it): the role's handler applied the rule at once."""
    if hostname(host) != DEBUG_ERA_HOST:
        pytest.skip("only the debug-era host had an old track file")
    assert not host.file(AGED_TRACK_FILE).exists


def test_systemd_tmpfiles_clean_removes_aged_track_files(host):
    """What systemd-tmpfiles-clean.timer runs daily: an aged file goes, a fresh one stays.
    Both names are future hours, so courierd's purge would keep them."""
    hour = int(host.check_output("date +%s")) // 3600
    aged = "%s/%d" % (TRACK_DIR, hour + 500)
    fresh = "%s/%d" % (TRACK_DIR, hour + 501)
    try:
        for path in (aged, fresh):
            host.check_output("install -o courier -g courier -m 0644 /dev/null %s", path)
        host.check_output("touch -d '2 days ago' %s", aged)
        host.check_output("systemd-tmpfiles --clean")
        assert not host.file(aged).exists
        assert host.file(fresh).exists
    finally:
        host.run("rm -f %s %s", aged, fresh)
