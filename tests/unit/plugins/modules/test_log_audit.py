# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""log_audit and its pattern scanner (module_utils/pii_patterns): what counts, what does not,
the time window, compressed files, the journal, and no value in the module's output."""

from __future__ import annotations

import bz2
import functools
import gzip
import ipaddress
import json
import lzma
import os
import time

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import pii_patterns
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import StoreError
from ansible_collections.mailprivacy.gdpr.plugins.modules import log_audit

from fake_runner import FakeRunner
from module_main import run_main

# (line, patterns it must count); every other pattern must not count it
LINES = [
    (b"2026-01-05T10:00:00.123+00:00 mx dovecot: imap-login: Login: user=<alice>, method=PLAIN, "
     b"rip=192.0.2.7, lip=10.9.9.9, mpid=1, TLS, session=<abc>", {"login", "ipv4"}),
    (b"Jan  5 10:00:00 mx dovecot: imap(alice@example.org)<123><xyz>: Logged out in=1 out=2",
     {"email", "login"}),
    (b"Jan  5 10:00:00 mx dovecot: auth: passwd-file(alice,192.0.2.7): Password mismatch "
     b"(given password: hunter2)", {"login", "ipv4", "password"}),
    (b"Jan  5 10:00:00 mx dovecot: auth: Debug: client in: AUTH\t1\tPLAIN\tservice=imap\t"
     b"resp=AGFsaWNlAGh1bnRlcjI=", {"auth_debug", "auth_payload"}),
    (b"Jan  5 10:00:00 mx dovecot: auth: Debug: client in: AUTH\t1\tPLAIN\tservice=imap\tresp=<hidden>",
     {"auth_debug"}),
    (b"Jan  5 10:00:00 mx imapd: LOGIN: ip=[::ffff:192.0.2.7], password=Secret",
     {"ipv4", "password", "auth_debug"}),
    (b"Jan  5 10:00:00 mx imapd: LOGIN: ip=[::ffff:192.0.2.7], username=alice",
     {"ipv4", "login", "auth_debug"}),
    (b"Jan  5 10:00:00 mx authdaemond: Authenticated: clearpasswd=Secret, passwd=$y$j9T$abc",
     {"password", "auth_debug"}),
    (b"Jan  5 10:00:00 mx authdaemond: authpam: trying this module", {"auth_debug"}),
    (b"Jan  5 10:00:00 mx imapd: Connection, ip=[2001:db8::7], port=[51234]", {"ipv6"}),
    (b"Jan  5 10:00:00 mx imapd: LOGIN, user=alice, ip=[::ffff:203.0.113.9], port=[4], protocol=IMAP",
     {"login", "ipv4"}),
    (b"@400000006500000012345678 2892 < AUTH PLAIN AGFsaWNlAGh1bnRlcjI=", {"auth_payload", "smtp_transcript"}),
    (b"@400000006500000012345678 2892 < auth login YWxpY2U=", {"auth_payload", "smtp_transcript"}),
    (b"@400000006500000012345678 2892 > 250 ok", {"smtp_transcript"}),
    (b"2892 < PASS hunter2", {"password", "smtp_transcript"}),
    (b"@400000006500000012345678 tcpserver: ok 2892 mx:192.0.2.10:25 :203.0.113.7::42458", {"ipv4"}),
    (b"Jan  5 10:00:00 mx vchkpw-pop3: password fail (pass: 'secret') bob@example.net:192.0.2.9",
     {"password", "email", "ipv4"}),
    (b"Jan  5 10:00:00 mx courierlocal: id=0001,from=<bob@example.net>,addr=<alice@example.org>,success",
     {"email"}),
    (b"Jan  5 10:00:00 mx sshd: pam_unix(sshd:auth): authentication failure; ruser= rhost=192.0.2.1  user=bob",
     {"ipv4", "login"}),
    # Horde (login.php, syslog and file log) and IMP (Auth::_log): the user of a failed or successful login
    (b'Nov 23 10:00:00 web HORDE: [horde] FAILED LOGIN for ann [192.0.2.4] to Horde '
     b'[pid 1234 on line 167 of "/usr/share/horde/login.php"]', {"login", "ipv4"}),
    (b'2026-11-23T10:00:00+01:00 ERR: HORDE [imp] FAILED LOGIN for ann@example.com (192.0.2.4) to '
     b'{imap.example.com:143 [imap]} [pid 1234 on line 730 of "/usr/share/horde/imp/lib/Auth.php"]',
     {"login", "email", "ipv4"}),
    (b'2026-11-23T10:00:00+01:00 NOTICE: HORDE [horde] Login success for ann [192.0.2.4] to Horde '
     b'[pid 1234 on line 167 of "/usr/share/horde/login.php"]', {"login", "ipv4"}),
    (b"Nov 23 10:00:00 web HORDE: [horde] FAILED LOGIN for ann to free/busy", {"login"}),
    # look-alikes that are not personal data
    (b'Nov 23 10:00:00 web HORDE: [horde] FAILED LOGIN for  [192.0.2.4] to Horde', {"ipv4"}),
    (b"Jan  5 10:00:00 mx dovecot: lmtp(1234): msgid=<20260105.abc@mx.example.org>: saved mail to INBOX",
     set()),
    (b"Jan  5 10:00:00 mx dovecot: master: Dovecot v2.3.19.1 (9b53102964) starting up", set()),
    (b"Jan  5 10:00:00 mx apt: Unpacking dovecot-core (1:2.3.19.1+dfsg1-2.1+deb12u7)", set()),
    (b"Jan  5 10:00:00 mx systemd[1]: Started at 12:34:56, mac aa:bb:cc:dd:ee:ff", set()),
    (b"Jan  5 10:00:00 mx imapd: Connection, ip=[::ffff:127.0.0.1], port=[143]", set()),
    (b"Jan  5 10:00:00 mx imapd: Connection, ip=[::1], port=[143]", set()),
    (b"Jan  5 10:00:00 mx dovecot: imap-login: Disconnected: method=PLAIN, lip=10.9.9.9, user=<>", set()),
    (b"Jan  5 10:00:00 mx dovecot: config: auth_verbose_passwords = no", set()),
    (b"Jan  5 10:00:00 mx dovecot: auth: Password mismatch", set()),
    (b"Jan  5 10:00:00 mx ansible-ansible.builtin.user: Invoked with name=x password=NOT_LOGGING_PARAMETER "
     b"update_password=always login_password=VALUE_SPECIFIED_IN_NO_LOG_PARAMETER pwd=******** passwd=None", set()),
    (b"Jan  5 10:00:00 mx dovecot: imap<1234><abc>: Logged out in=1", set()),
    (b"Jan  5 10:00:00 mx kernel: 999.1.1.1 is not an address; 1.2.3.4.5 neither", set()),
]
OWN = [ipaddress.ip_address("10.9.9.9")]


@pytest.mark.parametrize("line,expected", LINES, ids=[str(i) for i in range(len(LINES))])
def test_patterns(line, expected):
    counter = pii_patterns.LineCounter(own=OWN)
    counts = counter.count(line + b"\n")
    assert set(n for n, v in counts.items() if v) == expected
    assert all(v in (0, 1) for v in counts.values())


def test_counts_lines_not_occurrences_and_handles_unterminated_last_line():
    counter = pii_patterns.LineCounter(["email", "ipv4"])
    buf = b"a@example.org b@example.org 192.0.2.1\nnothing\nc@example.org"
    assert counter.count(buf) == {"email": 2, "ipv4": 1}


def test_ignored_networks_and_own_addresses():
    line = b"x rip=192.0.2.7 rip=198.51.100.1 ip=[2001:db8::1]\n"
    assert pii_patterns.LineCounter(["ipv4", "ipv6"]).count(line) == {"ipv4": 1, "ipv6": 1}
    nets = pii_patterns.parse_networks(["192.0.2.0/24", "198.51.100.1", "2001:db8::/32"])
    assert pii_patterns.LineCounter(["ipv4", "ipv6"], nets).count(line) == {"ipv4": 0, "ipv6": 0}
    with pytest.raises(pii_patterns.PatternError, match=r"ignore_networks\[1\]"):
        pii_patterns.parse_networks(["10.0.0.0/8", "alice"])
    with pytest.raises(pii_patterns.PatternError, match=r"patterns\[0\]"):
        pii_patterns.LineCounter(["nope"])


def test_own_addresses_from_proc(tmp_path):
    net = tmp_path / "net"
    net.mkdir()
    (net / "fib_trie").write_text(
        "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 10.88.0.5\n        /32 host LOCAL\n"
        "     |-- 10.88.0.255\n        /32 link BROADCAST\n")
    (net / "if_inet6").write_text("fe800000000000000000000000000001 02 40 20 80 eth0\n")
    expected = {ipaddress.ip_address("10.88.0.5"), ipaddress.ip_address("fe80::1")}
    assert pii_patterns.own_addresses(str(tmp_path)) == expected
    assert pii_patterns.own_addresses(str(tmp_path / "missing")) == set()


def test_line_timestamps():
    now = time.mktime((2026, 1, 10, 12, 0, 0, 0, 0, -1))
    assert pii_patterns.line_timestamp(b"2026-01-05T10:00:00.5+01:00 x", now) == 1767603600.0
    assert pii_patterns.line_timestamp(b"2026-01-05T09:00:00Z x", now) == 1767603600.0
    assert pii_patterns.line_timestamp(b"Jan  5 10:00:00 mx x", now) == time.mktime((2026, 1, 5, 10, 0, 0, 0, 0, -1))
    # December lines read in January belong to last year
    assert pii_patterns.line_timestamp(b"Dec 31 23:00:00 mx x", now) == time.mktime((2025, 12, 31, 23, 0, 0, 0, 0, -1))
    tai = b"@4000000065000000" + b"0" * 8 + b" x"
    assert pii_patterns.line_timestamp(tai, now) == float(0x65000000 - 10)
    assert pii_patterns.line_timestamp(b"no stamp here", now) is None
    assert pii_patterns.line_timestamp(b"Foo  5 10:00:00 x", now) is None


def _stamp(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(epoch)).encode()


def _regions(data, size=64):
    # small regions: the window must work across region boundaries
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils.log_engine import iter_regions
    return iter_regions(data[i:i + size] for i in range(0, len(data), size))


def test_window_skips_old_lines_across_regions():
    now = 2000000000.0
    old, new = _stamp(now - 10 * 86400), _stamp(now - 3600)
    data = b"".join([old + b" user=<a1>\n", b"  continuation of an old entry a@example.org\n"] * 20
                    + [new + b" user=<b1>\n", b"  continuation b@example.org\n", new + b" x\n"])
    counter = pii_patterns.LineCounter(["login", "email"])
    counts, lines = pii_patterns.scan_regions(_regions(data), counter, pii_patterns.Window(now - 86400, now))
    assert counts == {"login": 1, "email": 1}
    assert lines == 3
    counts, lines = pii_patterns.scan_regions(_regions(data), counter, None)
    assert counts == {"login": 21, "email": 21} and lines == 43


def test_window_counts_a_file_without_timestamps_and_a_recent_unstamped_head():
    now = 2000000000.0
    counter = pii_patterns.LineCounter(["login"])
    plain = b"user=<a>\nuser=<b>\nnothing\n" * 10
    counts, lines = pii_patterns.scan_regions(_regions(plain), counter, pii_patterns.Window(now - 86400, now))
    assert counts == {"login": 20} and lines == 30
    head = b"user=<head>\n" + _stamp(now - 60) + b" user=<x>\n"
    counts, lines = pii_patterns.scan_regions(_regions(head), counter, pii_patterns.Window(now - 86400, now))
    assert counts == {"login": 2} and lines == 2
    old_head = b"user=<head>\n" + _stamp(now - 9 * 86400) + b" user=<x>\n"
    counts, lines = pii_patterns.scan_regions(_regions(old_head), counter, pii_patterns.Window(now - 86400, now))
    assert counts == {"login": 0} and lines == 0


@pytest.mark.parametrize("text,expected", [
    ("@1700000000", 1700000000.0),
    ("2026-01-05", 1767571200.0),
    ("2026-01-05T10:00", 1767607200.0),
    ("2026-01-05T10:00:00Z", 1767607200.0),
    ("2026-01-05T12:00:00+02:00", 1767607200.0),
])
def test_parse_since(text, expected):
    assert log_audit.parse_since(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "@x", "2026-13-01", "2026-01-05T25:00:00", "1700000000"])
def test_parse_since_refuses(text):
    with pytest.raises(log_audit.AuditError, match="since"):
        log_audit.parse_since(text)


def make_tree(root, now):
    """A host's logs: live, rotated, three compressions, multilog, one old file."""
    recent = _stamp(now - 3600)
    old = _stamp(now - 30 * 86400)
    os.makedirs(os.path.join(root, "qmail", "smtpd"))
    with open(os.path.join(root, "mail.log"), "wb") as handle:
        handle.write(old + b" dovecot: imap-login: Login: user=<olduser>, rip=192.0.2.1\n"
                     + recent + b" dovecot: imap-login: Login: user=<alice>, rip=192.0.2.7\n"
                     + recent + b" postfix: to=<alice@example.org>, status=sent\n")
    with open(os.path.join(root, "mail.log.1"), "wb") as handle:
        handle.write(recent + b" imapd: LOGIN: ip=[::ffff:192.0.2.7], password=hunter2\n")
    with gzip.open(os.path.join(root, "mail.log.2.gz"), "wb") as handle:
        handle.write(recent + b" dovecot: auth: Debug: client in: AUTH\tresp=AGFsaWNlAGh1bnRlcjI=\n")
    with bz2.open(os.path.join(root, "mail.log.3.bz2"), "wb") as handle:
        handle.write(recent + b" courierlocal: from=<bob@example.net>\n")
    with lzma.open(os.path.join(root, "mail.log.4.xz"), "wb") as handle:
        handle.write(recent + b" imapd: Connection, ip=[2001:db8::7]\n")
    tai = b"@4000000%09x00000000" % int(now - 60 + 10)
    with open(os.path.join(root, "qmail", "smtpd", "current"), "wb") as handle:
        handle.write(tai + b" 2892 < AUTH PLAIN AGFsaWNlAGh1bnRlcjI=\n" + tai + b" 2892 > 235 ok\n")
    old_file = os.path.join(root, "mail.log.9")
    with open(old_file, "wb") as handle:
        handle.write(b"user=<veryold> password=old\n")
    os.utime(old_file, (now - 40 * 86400, now - 40 * 86400))


IDENTIFIERS = ["alice", "olduser", "veryold", "example.org", "example.net", "192.0.2.7", "2001:db8::7",
               "hunter2", "AGFsaWNlAGh1bnRlcjI="]


def params(root, **over):
    out = {"days": 7, "since": None, "paths": [os.path.join(root, "mail.log*"), os.path.join(root, "qmail", "**")],
           "extra_paths": [], "exclude": [], "journal": True, "journal_matches": ["SYSLOG_FACILITY=2"],
           "journalctl": "journalctl", "patterns": [], "accept": [], "ignore_networks": [],
           "ignore_own_addresses": False}
    out.update(over)
    return out


def test_audit_counts_by_pattern_and_category(tmp_path, monkeypatch):
    now = time.time()
    make_tree(str(tmp_path), now)
    monkeypatch.setattr(log_audit, "JOURNAL_DIRS", (str(tmp_path),))
    journal = (_stamp(now - 60) + b" mx dovecot[1]: imap-login: Login: user=<alice>, rip=192.0.2.7\n"
               + _stamp(now - 50) + b" mx dovecot[1]: imap(alice@example.org): Logged out\n")
    runner = FakeRunner(streams={"journalctl": journal})
    res = log_audit.audit(params(str(tmp_path)), runner=runner, now=now)
    assert res["by_category"]["live"] == dict(dict((n, 0) for n in pii_patterns.PATTERN_NAMES),
                                              login=1, ipv4=1, email=1)
    assert res["by_category"]["rotated"]["password"] == 1 and res["by_category"]["rotated"]["auth_debug"] == 1
    assert res["by_category"]["compressed"]["auth_payload"] == 1
    assert res["by_category"]["compressed"]["email"] == 1 and res["by_category"]["compressed"]["ipv6"] == 1
    assert res["by_category"]["multilog"]["smtp_transcript"] == 2
    assert res["by_category"]["journal"]["login"] == 2 and res["by_category"]["journal"]["email"] == 1
    assert res["findings"]["login"] == 3 and res["findings"]["email"] == 3
    assert res["files_scanned"] == 6 and res["files_skipped_old"] == 1 and res["files_with_findings"] == 6
    assert res["lines_scanned"] == 2 + 1 + 1 + 1 + 1 + 2 + 2
    assert res["journal"] == {"scanned": True, "reason": "", "entries": 2}
    assert runner.last("stream")[-1] == "SYSLOG_FACILITY=2"
    assert "--since=@%d" % int(now - 7 * 86400) in runner.last("stream")
    assert res["drift"] is True
    assert res["drift_patterns"] == ["email", "ipv4", "ipv6", "login", "password", "auth_debug",
                                     "auth_payload", "smtp_transcript"]
    assert res["window"]["days"] == 7
    text = json.dumps(res)
    for value in IDENTIFIERS + [str(tmp_path)]:
        assert value not in text


def test_audit_accept_patterns_subset_and_since(tmp_path, monkeypatch):
    now = time.time()
    make_tree(str(tmp_path), now)
    res = log_audit.audit(params(str(tmp_path), journal=False, patterns=["login", "password"],
                                 accept=["login"]), runner=FakeRunner(streams={"journalctl": b""}), now=now)
    assert sorted(res["findings"]) == ["login", "password"]
    assert res["drift_patterns"] == ["password"] and res["accepted"] == ["login"]
    assert res["journal"] == {"scanned": False, "reason": "disabled", "entries": 0}
    res = log_audit.audit(params(str(tmp_path), journal=False, patterns=["login"], accept=["login"]),
                          runner=FakeRunner(streams={"journalctl": b""}), now=now)
    assert res["drift"] is False and res["findings"]["login"] == 1
    # since: 60 days back reaches the old line and the old file
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 60 * 86400))
    res = log_audit.audit(params(str(tmp_path), journal=False, since=since, patterns=["login"]),
                          runner=FakeRunner(streams={"journalctl": b""}), now=now)
    assert res["findings"]["login"] == 3 and res["files_skipped_old"] == 0
    assert res["window"] == {"since": since, "days": None}


def test_audit_journal_problems(tmp_path, monkeypatch):
    monkeypatch.setattr(log_audit, "JOURNAL_DIRS", (str(tmp_path),))
    res = log_audit.audit(params(str(tmp_path)), runner=FakeRunner())
    assert res["journal"]["reason"] == "journalctl not found"
    res = log_audit.audit(params(str(tmp_path)), runner=FakeRunner(streams={"journalctl": (1, b"x user=<a>\n")}))
    assert res["journal"]["scanned"] is False and "exit 1" in res["journal"]["reason"]
    assert res["problems"] == {"journal unreadable": 1}
    monkeypatch.setattr(log_audit, "JOURNAL_DIRS", (str(tmp_path / "none"),))
    res = log_audit.audit(params(str(tmp_path)), runner=FakeRunner(streams={"journalctl": b""}))
    assert res["journal"]["reason"] == "no journal directory"
    with pytest.raises(log_audit.AuditError, match=r"journal_matches\[0\]"):
        log_audit.audit(params(str(tmp_path), journal_matches=["--since=0"]), runner=FakeRunner(streams={"journalctl": b""}))


def test_audit_damaged_file_is_a_problem_not_a_crash(tmp_path):
    now = time.time()
    with open(tmp_path / "mail.log.2.gz", "wb") as handle:
        handle.write(gzip.compress(b"user=<a>\n" * 1000)[:40])
    res = log_audit.audit(params(str(tmp_path), journal=False), runner=FakeRunner(streams={"journalctl": b""}), now=now)
    assert res["problems"] == {"files unreadable or damaged (skipped)": 1}


def test_default_paths_are_the_mail_logs_without_auth_log(monkeypatch):
    """The drift check reads what the roles control: the subject stores' defaults include
    /var/log/auth.log*, whose PAM lines name users by design, the audit's do not."""
    seen = {}

    class Recorder(object):
        def __init__(self, opts, runner=None):
            seen.update(opts)
            raise StoreError("recorded")

    monkeypatch.setattr(log_audit, "LogStore", Recorder)
    with pytest.raises(log_audit.AuditError):
        log_audit.audit(params("/nonexistent", paths=[], journal=False), runner=FakeRunner(streams={"journalctl": b""}))
    assert seen["paths"] and "/var/log/mail.log*" in seen["paths"]
    assert not [p for p in seen["paths"] if "auth.log" in p]


def test_audit_refuses_bad_parameters(tmp_path):
    for bad in ({"days": 0}, {"accept": ["nope"]}, {"ignore_networks": ["alice"]}, {"paths": ["relative/*.log"]}):
        with pytest.raises(log_audit.AuditError):
            log_audit.audit(params(str(tmp_path), **bad), runner=FakeRunner(streams={"journalctl": b""}))


run_module = functools.partial(run_main, log_audit)


@pytest.mark.parametrize("check_mode", [False, True])
def test_module_output_holds_counts_only(tmp_path, capsys, check_mode):
    now = time.time()
    make_tree(str(tmp_path), now)
    result, raw = run_module(capsys, {"paths": [str(tmp_path / "mail.log*"), str(tmp_path / "qmail" / "**")],
                                      "journal": False}, check_mode)
    assert result["changed"] is False
    assert result["findings"]["password"] == 1 and result["drift"] is True
    result.pop("invocation", None)
    own = json.dumps(result)
    for value in IDENTIFIERS + [str(tmp_path)]:
        assert value not in own


def test_module_fails_clearly(tmp_path, capsys):
    result, _raw = run_module(capsys, {"since": "last tuesday", "journal": False,
                                       "paths": [str(tmp_path / "*.log")]})
    assert result["failed"] is True and result["msg"].startswith("since:")
