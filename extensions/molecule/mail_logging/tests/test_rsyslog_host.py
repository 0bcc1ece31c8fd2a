"""The rsyslog host: debug filter, retention through logrotate, expired copies."""

import pytest

from conftest import (
    LOGROTATE_FILE,
    MARKER,
    RETENTION_DAYS,
    ROTATE,
    ROTATE_SCRIPT,
    RSYSLOG_DROPIN,
    file_has,
    journal_has,
    wait_for,
)

testinfra_hosts = ["podman://mp-mail-logging"]

MAIL_LOG = "/var/log/mail.log"
SYSLOG = "/var/log/syslog"


def logrotate_blocks(text):
    """Parse a logrotate file into [(paths, directives)] (scripts kept as directives)."""
    blocks, paths = [], []
    body = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if body is None:
            if line == "{":
                body = []
            else:
                paths.extend(line.split())
        elif line == "}":
            blocks.append((paths, body))
            paths, body = [], None
        else:
            body.append(line)
    assert body is None, "unterminated block"
    return blocks


@pytest.fixture(scope="module")
def blocks(host):
    return logrotate_blocks(host.file(LOGROTATE_FILE).content_string)


def test_rsyslog_running_with_a_valid_configuration(host):
    assert host.service("rsyslog").is_running
    assert host.run("rsyslogd -N1").rc == 0


def test_debug_filter_dropin(host):
    f = host.file(RSYSLOG_DROPIN)
    assert f.is_file
    assert (f.user, f.group, f.mode) == ("root", "root", 0o644)
    lines = f.content_string.splitlines()
    assert "Ansible managed" in f.content_string
    assert MARKER in lines
    assert (
        "if $syslogfacility-text == 'mail' and $syslogseverity-text == 'debug' then stop"
        in lines
    )


def test_mail_debug_lines_stay_out_of_files(host, unique):
    """Real syslog client traffic: only mail.debug is dropped, from mail.log and syslog."""
    tag = f"mp-test-{unique}"
    # Debug first: once the later info line is in the file, the debug line was processed.
    host.run("logger -t %s -p mail.debug %s", tag, f"mail-debug-{unique}")
    host.run("logger -t %s -p user.debug %s", tag, f"user-debug-{unique}")
    host.run("logger -t %s -p mail.err %s", tag, f"mail-err-{unique}")
    host.run("logger -t %s -p mail.info %s", tag, f"mail-info-{unique}")
    for path in (MAIL_LOG, SYSLOG):
        assert wait_for(lambda p=path: file_has(host, p, f"mail-info-{unique}")), path
        assert file_has(host, path, f"mail-err-{unique}"), path
        assert not file_has(host, path, f"mail-debug-{unique}"), path
    # The filter is specific to the mail facility.
    assert file_has(host, SYSLOG, f"user-debug-{unique}")
    # Documented: the journal (stored before rsyslog sees the line) keeps mail debug lines.
    assert wait_for(lambda: journal_has(host, tag, f"mail-debug-{unique}"))


def test_logrotate_installed_and_timer_enabled(host):
    assert host.package("logrotate").is_installed
    timer = host.service("logrotate.timer")
    assert timer.is_enabled
    assert timer.is_running


def test_logrotate_file_header_and_syntax(host):
    f = host.file(LOGROTATE_FILE)
    assert (f.user, f.group, f.mode) == ("root", "root", 0o644)
    assert "Ansible managed" in f.content_string
    assert MARKER in f.content_string.splitlines()
    assert host.run("logrotate --debug %s", LOGROTATE_FILE).rc == 0


def test_logrotate_mail_block_enforces_the_retention(blocks):
    mail = [b for b in blocks if "/var/log/mail.log" in b[0]]
    assert len(mail) == 1
    paths, directives = mail[0]
    # syslog holds a copy of every mail line; mail.warn is a legacy file present on disk.
    assert paths == [SYSLOG, MAIL_LOG, "/var/log/mail.warn"]
    for directive in (
        "daily",
        f"rotate {ROTATE}",
        f"maxage {RETENTION_DAYS}",
        "ifempty",
        "missingok",
        "compress",
        "delaycompress",
        "sharedscripts",
        "postrotate",
        ROTATE_SCRIPT,
        "endscript",
    ):
        assert directive in directives
    assert "notifempty" not in directives
    assert not [d for d in directives if d in ("weekly", "monthly", "yearly")]


def test_logrotate_keeps_debians_other_files(blocks):
    others = [b for b in blocks if "/var/log/mail.log" not in b[0]]
    assert len(others) == 1
    paths, directives = others[0]
    # Debian's four files, plus the local addition made by prepare.yml.
    assert paths == [
        "/var/log/kern.log",
        "/var/log/auth.log",
        "/var/log/user.log",
        "/var/log/cron.log",
        "/var/log/lpr.log",
    ]
    for directive in ("rotate 4", "weekly", "notifempty", "sharedscripts", ROTATE_SCRIPT):
        assert directive in directives
    all_paths = [p for b in blocks for p in b[0]]
    assert len(all_paths) == len(set(all_paths)), "a file listed twice breaks logrotate"


def test_expired_orphaned_copies_were_removed(host):
    """prepare.yml left rotated copies that logrotate no longer tracks."""
    for name in ("mail.log.30.gz", "mail.info.3.gz", "syslog-20200101.gz"):
        assert not host.file(f"/var/log/{name}").exists, name
    # One day old: within the retention, kept.
    assert host.file("/var/log/mail.log.25.gz").exists


def _make_copy(host, path, age):
    host.check_output("echo old-line | gzip > %s && touch -d %s %s", path, age, path)


def test_rotation_expires_old_copies_and_rsyslog_reopens(host, unique):
    tag = f"mp-test-{unique}"
    host.run("logger -t %s -p mail.info %s", tag, f"before-rotation-{unique}")
    assert wait_for(lambda: file_has(host, MAIL_LOG, f"before-rotation-{unique}"))
    assert wait_for(lambda: file_has(host, SYSLOG, f"before-rotation-{unique}"))

    # Copies older than the retention (removed by maxage), a copy at the end of the count
    # (removed by rotate), and recent copies within the retention (shifted and kept).
    _make_copy(host, "/var/log/mail.log.8.gz", f"{RETENTION_DAYS + 10} days ago")
    _make_copy(host, "/var/log/syslog.5.gz", f"{RETENTION_DAYS + 5} days ago")
    _make_copy(host, f"/var/log/mail.log.{ROTATE}.gz", "1 day ago")
    _make_copy(host, "/var/log/mail.log.2.gz", "2 days ago")
    _make_copy(host, "/var/log/syslog.3.gz", "3 days ago")

    result = host.run("logrotate --force %s", LOGROTATE_FILE)
    assert result.rc == 0, result.stderr

    # maxage: the aged copies were deleted, not shifted to .9.gz / .6.gz.
    assert not host.file(f"/var/log/mail.log.{ROTATE}.gz").exists
    assert not host.file("/var/log/syslog.6.gz").exists
    # rotate count: the copy that would become number ROTATE + 1 was deleted.
    assert not host.file(f"/var/log/mail.log.{ROTATE + 1}.gz").exists
    # Recent copies within the retention moved up by one and stay.
    assert host.file("/var/log/mail.log.3.gz").exists
    assert host.file("/var/log/syslog.4.gz").exists
    # The live files became .1 (delaycompress); the legacy file is rotated too (ifempty).
    assert file_has(host, "/var/log/mail.log.1", f"before-rotation-{unique}")
    assert file_has(host, "/var/log/syslog.1", f"before-rotation-{unique}")
    assert host.file("/var/log/mail.warn.1").exists

    # postrotate sent HUP: rsyslog writes to the new live files.
    host.run("logger -t %s -p mail.info %s", tag, f"after-rotation-{unique}")
    for path in (MAIL_LOG, SYSLOG):
        assert wait_for(lambda p=path: file_has(host, p, f"after-rotation-{unique}")), path
    assert not file_has(host, "/var/log/mail.log.1", f"after-rotation-{unique}")
    assert not file_has(host, MAIL_LOG, f"before-rotation-{unique}")


def test_no_rotated_copy_outlives_the_retention(host):
    """After all of the above, no rotated mail copy is older than the retention."""
    out = host.check_output(
        "find /var/log -maxdepth 1 -type f -regextype posix-extended "
        "-regex %s -mtime +%s",
        r"/var/log/(syslog|mail\.(log|info|warn|err))(\.[0-9]+|-[0-9]{8})(\.gz)?",
        str(RETENTION_DAYS - 1),
    )
    assert out.strip() == ""
