# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The systemd readers (module_utils/systemd_conf.py): time spans as systemd parses them,
journald.conf with its drop-ins by systemd's search path and override rules (checked against
the real ``systemd-analyze --root`` where it is installed), and the record of processing and
the journal erasure agreeing on the retention because they use the one reader."""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_journal_retention import (
    journal_erase_step,
    journal_retention,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.systemd_conf import (
    INFINITY,
    MONTH,
    config_files,
    journald_config,
    parse_section,
    parse_timespan,
    read_config,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils import processing, service_system_logging

from fake_runner import FakeRunner

ANALYZE = shutil.which("systemd-analyze")
NOW = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)


def write(root, path, text):
    full = os.path.join(str(root), path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as handle:
        handle.write(text)
    return full


# --------------------------------------------------------------------------------------------
# Time spans
# --------------------------------------------------------------------------------------------

# from test_store_journal_retention.py (the erasure's parser before issue 13)
@pytest.mark.parametrize('text,seconds', [
    ('3600', 3600), ('1h', 3600), ('2weeks', 14 * 86400), ('1d 12h', 129600),
    ('5min', 300), ('5m', 300), ('1M', 30 * 86400 + 37800), ('1y', 365 * 86400 + 21600),
    ('', None), ('soon', None), ('1 fortnight', None),
])
def test_parse_timespan(text, seconds):
    assert parse_timespan(text) == seconds


# from test_processing_facts.py (the record's parser before issue 13); a month is systemd's
# 30.44 days (2629800 s, USEC_PER_MONTH), which that parser rounded to 30.44 * 86400 s
@pytest.mark.parametrize("text,seconds", [
    ("14day", 14 * 86400), ("2w 3d", 17 * 86400), ("1month", MONTH), ("30d", 30 * 86400),
    ("0", 0), ("3600", 3600), ("1d12h", 1.5 * 86400), ("5min", 300), ("2 weeks", 14 * 86400),
    ("bogus", None), ("", None), (None, None), ("5 parsecs", None),
])
def test_parse_span(text, seconds):
    assert parse_timespan(text) == seconds


@pytest.mark.parametrize("text,seconds", [
    ("infinity", INFINITY), ("  infinity ", INFINITY), ("infinityx", None),
    ("1.5h", 5400), ("0.5d 1.5h", 48600), (".5m", 30), ("2 h 30 min", 9000), ("100ms", 0.1),
    ("1 M", MONTH), ("1m", 60), ("1y 1M", 31557600 + MONTH), ("1years", 31557600),
    ("5DAY", None), ("5mins", None), ("5secs", None), ("-5s", None), ("+5s", None), ("1.2.3", None),
    ("5s,6s", None), ('"14d"', None), ("5 s 6", 11), ("\t7d\n", 7 * 86400),
])
def test_systemd_rules(text, seconds):
    assert parse_timespan(text) == seconds


def test_bare_number_in_the_callers_unit():
    assert parse_timespan("90") == 90
    assert parse_timespan("90", default_unit="min") == 5400
    assert parse_timespan("2 1h", default_unit="d") == 2 * 86400 + 3600


# --------------------------------------------------------------------------------------------
# Configuration syntax
# --------------------------------------------------------------------------------------------

# from test_store_journal_retention.py
def test_parse_conf_later_wins_and_other_sections_ignored():
    conf = '[Journal]\nMaxRetentionSec=1d\n[Other]\nMaxRetentionSec=9d\n[Journal]\nMaxFileSec=2h\n'
    assert dict(parse_section(conf, 'Journal')) == {'MaxRetentionSec': '1d', 'MaxFileSec': '2h'}


def test_syntax_comments_continuations_and_junk():
    text = ("\ufeff[Journal]\n"
            "  # MaxRetentionSec=1y\n"
            "; Storage=none\n"
            "MaxRetentionSec = 2 \\\n"
            "# a comment inside the continuation is skipped\n"
            "  weeks\n"
            "=nokey\n"
            "NoEquals\n"
            "Escaped=a\\\\\n"
            "SystemMaxUse=1G\n"
            "Storage=persistent\\\n")
    assert parse_section(text, "Journal") == [
        ("MaxRetentionSec", "2    weeks"), ("Escaped", "a\\\\"), ("SystemMaxUse", "1G"), ("Storage", "persistent")]
    assert parse_section("MaxRetentionSec=1d\n", "Journal") == []  # outside any section


def test_an_assignment_systemd_refuses_is_ignored_and_the_earlier_value_stays(tmp_path):
    write(tmp_path, "/etc/systemd/journald.conf", "[Journal]\nMaxRetentionSec=3d\nStorage=persistent\n")
    write(tmp_path, "/etc/systemd/journald.conf.d/50-bad.conf",
          "[Journal]\nMaxRetentionSec=\nMaxRetentionSec=5 fortnights\nStorage=\n")
    config = journald_config(str(tmp_path))
    assert config.timespan("MaxRetentionSec") == (3 * 86400, "3d", "/etc/systemd/journald.conf")
    assert config.value("Storage") == "persistent"
    assert config.get("Nothing") == (None, None)
    assert config.timespan("Nothing") == (None, None, None)


# --------------------------------------------------------------------------------------------
# Which files, in which order
# --------------------------------------------------------------------------------------------

DIRS = ("/etc/systemd", "/run/systemd", "/usr/local/lib/systemd", "/usr/lib/systemd")


def every_directory(root):
    """A main file and drop-ins in each of systemd's four directories; names that clash."""
    for directory in DIRS:
        tag = directory.split("/")[1] if directory != "/usr/local/lib/systemd" else "local"
        write(root, directory + "/journald.conf", "[Journal]\nMain=%s\n" % tag)
        write(root, directory + "/journald.conf.d/50-same.conf", "[Journal]\nSame=%s\n" % tag)
        write(root, directory + "/journald.conf.d/%s-%s.conf" % ({"etc": 40, "run": 10, "local": 30, "usr": 20}[tag], tag),
              "[Journal]\nOwn=%s\n" % tag)


def test_search_path_override_and_order(tmp_path):
    every_directory(tmp_path)
    write(tmp_path, "/etc/systemd/journald.conf.d/.hidden.conf", "[Journal]\nHidden=yes\n")
    write(tmp_path, "/etc/systemd/journald.conf.d/notes.txt", "[Journal]\nTxt=yes\n")
    os.makedirs(os.path.join(str(tmp_path), "etc/systemd/journald.conf.d/dir.conf"))
    write(tmp_path, "/run/systemd/journald.conf.d/dir.conf", "[Journal]\nDir=run\n")  # the /etc directory does not mask it
    main, dropins = config_files("journald.conf", str(tmp_path))
    assert main == "/etc/systemd/journald.conf"
    assert dropins == ["/run/systemd/journald.conf.d/10-run.conf", "/usr/lib/systemd/journald.conf.d/20-usr.conf",
                       "/usr/local/lib/systemd/journald.conf.d/30-local.conf", "/etc/systemd/journald.conf.d/40-etc.conf",
                       "/etc/systemd/journald.conf.d/50-same.conf", "/run/systemd/journald.conf.d/dir.conf"]
    config = journald_config(str(tmp_path))
    assert [(k, v) for k, v, _f in config.assignments] == [
        ("Main", "etc"), ("Own", "run"), ("Own", "usr"), ("Own", "local"), ("Own", "etc"), ("Same", "etc"), ("Dir", "run")]
    assert config.source == "files" and config.files == [main] + dropins
    os.unlink(os.path.join(str(tmp_path), "etc/systemd/journald.conf"))
    assert config_files("journald.conf", str(tmp_path))[0] == "/run/systemd/journald.conf"
    for directory in DIRS[1:3]:
        os.unlink(os.path.join(str(tmp_path), directory.lstrip("/"), "journald.conf"))
    assert config_files("journald.conf", str(tmp_path))[0] == "/usr/lib/systemd/journald.conf"


def test_a_link_to_dev_null_or_an_empty_file_masks_a_drop_in(tmp_path):
    every_directory(tmp_path)
    os.symlink("/dev/null", os.path.join(str(tmp_path), "etc/systemd/journald.conf.d/20-usr.conf"))
    write(tmp_path, "/etc/systemd/journald.conf.d/30-local.conf", "")
    config = journald_config(str(tmp_path))
    assert [v for k, v, _f in config.assignments if k == "Own"] == ["run", "etc"]
    assert "/etc/systemd/journald.conf.d/20-usr.conf" in config.files


def test_a_fifo_is_not_waited_for(tmp_path):
    write(tmp_path, "/etc/systemd/journald.conf", "[Journal]\nMaxRetentionSec=1d\n")
    os.makedirs(os.path.join(str(tmp_path), "etc/systemd/journald.conf.d"))
    os.mkfifo(os.path.join(str(tmp_path), "etc/systemd/journald.conf.d/50-fifo.conf"))
    config = journald_config(str(tmp_path))
    assert config.value("MaxRetentionSec") == "1d" and config.files == ["/etc/systemd/journald.conf"]


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed on this machine")
def test_the_files_and_their_order_are_those_of_systemd_analyze(tmp_path):
    every_directory(tmp_path)
    os.symlink("/dev/null", os.path.join(str(tmp_path), "etc/systemd/journald.conf.d/20-usr.conf"))
    real = subprocess.run([ANALYZE, "--root=%s" % tmp_path, "cat-config", "systemd/journald.conf"],
                          capture_output=True, text=True, check=True).stdout
    headers = [line[2:].replace(str(tmp_path), "", 1) for line in real.splitlines() if line.startswith("# /")]
    main, dropins = config_files("journald.conf", str(tmp_path))
    assert headers == [main] + dropins
    # and its output, as read on the running system (root /), gives the same assignments
    unrooted = real.replace("# %s/" % tmp_path, "# /")
    from_output = read_config("journald.conf", "Journal", "/", lambda argv: (0, unrooted))
    assert from_output.source == "systemd-analyze cat-config"
    assert from_output.assignments == journald_config(str(tmp_path)).assignments


def test_cat_config_output_is_read_per_file_on_the_running_system(tmp_path):
    output = ("# /etc/systemd/journald.conf\n[Journal]\nMaxRetentionSec=1y\nMaxFileSec=1d \\\n\n"
              "# /etc/systemd/journald.conf.d/80-mail.conf\n[Journal]\n# /not/a/header\nMaxRetentionSec=14day\n"
              "# /etc/systemd/journald.conf.d/90-empty.conf\n"
              "# /lib/systemd/journald.conf.d/95-split-usr.conf\n[Journal]\nMaxFileSec=2d\n")
    calls = []

    def run(argv):
        calls.append(argv)
        return 0, output
    config = read_config("journald.conf", "Journal", "/", run)
    assert calls == [["systemd-analyze", "cat-config", "systemd/journald.conf"]]
    assert config.files == ["/etc/systemd/journald.conf", "/etc/systemd/journald.conf.d/80-mail.conf",
                            "/etc/systemd/journald.conf.d/90-empty.conf", "/lib/systemd/journald.conf.d/95-split-usr.conf"]
    # the continuation ends with its file, it does not swallow the next file's header
    assert config.assignments == [("MaxRetentionSec", "1y", "/etc/systemd/journald.conf"),
                                  ("MaxFileSec", "1d", "/etc/systemd/journald.conf"),
                                  ("MaxRetentionSec", "14day", "/etc/systemd/journald.conf.d/80-mail.conf"),
                                  ("MaxFileSec", "2d", "/lib/systemd/journald.conf.d/95-split-usr.conf")]
    # under another root, or when systemd-analyze fails, the files are read
    write(tmp_path, "/etc/systemd/journald.conf", "[Journal]\nMaxRetentionSec=2d\n")
    assert read_config("journald.conf", "Journal", str(tmp_path), run).value("MaxRetentionSec") == "2d"
    assert len(calls) == 1
    failing = read_config("journald.conf", "Journal", "/", lambda argv: (1, ""))
    assert failing.source == "files"
    assert read_config("journald.conf", "Journal", "/", lambda argv: None).source == "files"


def test_the_erasure_runs_cat_config_through_its_runner():
    runner = FakeRunner({"systemd-analyze": b"# /etc/systemd/journald.conf\n[Journal]\nMaxRetentionSec=infinity\n"})
    assert journal_retention(runner) == (0, MONTH)  # infinity: no time limit; MaxFileSec default
    assert runner.calls == [["/usr/bin/systemd-analyze", "cat-config", "systemd/journald.conf"]]


# --------------------------------------------------------------------------------------------
# One reader: the record of processing and the erasure agree (issue 13, item 4)
# --------------------------------------------------------------------------------------------

def tree_every_directory(root):
    """Main files in /usr/lib (not read: /etc has one) and /etc; drop-ins in all four
    directories; a drop-in in /etc that replaces the one of the same name in /run; an empty
    assignment (refused by systemd, so ignored). journald ends with MaxRetentionSec=3w from
    /usr/local/lib."""
    write(root, "/usr/lib/systemd/journald.conf", "[Journal]\nMaxRetentionSec=1y\n")
    write(root, "/etc/systemd/journald.conf", "[Journal]\nMaxRetentionSec=6month\nSystemMaxUse=2G\n")
    write(root, "/usr/lib/systemd/journald.conf.d/10-vendor.conf", "[Journal]\nMaxRetentionSec=1month\n")
    write(root, "/usr/local/lib/systemd/journald.conf.d/20-site.conf", "[Journal]\nMaxRetentionSec=3w\n")
    write(root, "/run/systemd/journald.conf.d/30-runtime.conf", "[Journal]\nMaxRetentionSec=1d\nMaxFileSec=1h\n")
    write(root, "/etc/systemd/journald.conf.d/30-runtime.conf", "[Journal]\nMaxFileSec=12h\n")
    write(root, "/etc/systemd/journald.conf.d/40-mail.conf", "[Journal]\nMaxRetentionSec=\n")
    return 21 * 86400, 12 * 3600, "/usr/local/lib/systemd/journald.conf.d/20-site.conf"


def tree_reset(root):
    """The vendor's 1month, reset to 0 (no time limit) by a drop-in in /usr/local/lib."""
    write(root, "/etc/systemd/journald.conf", "[Journal]\n#MaxRetentionSec=\n")
    write(root, "/usr/lib/systemd/journald.conf.d/10-vendor.conf", "[Journal]\nMaxRetentionSec=1month\nMaxFileSec=1d\n")
    write(root, "/usr/local/lib/systemd/journald.conf.d/50-reset.conf", "[Journal]\nMaxRetentionSec=0\n")
    return 0, 86400, None


@pytest.mark.parametrize("tree", [tree_every_directory, tree_reset])
def test_record_of_processing_and_erasure_report_the_same_retention(tmp_path, tree):
    retention, max_file, basis = tree(tmp_path)
    os.makedirs(os.path.join(str(tmp_path), "var/log/journal"))
    host = processing.Host(str(tmp_path))
    (row,) = service_system_logging.collect_journal(host, processing.Logrotate(host))
    step = journal_erase_step(FakeRunner(), 3, now=NOW, root=str(tmp_path))["manual_steps"][0]
    # the Art. 30 record
    assert row["retention_days"] == (processing.days_of(retention) if retention else None)
    # the erasure's manual step
    assert journal_retention(None, str(tmp_path)) == (retention, max_file)
    if retention:
        assert "MaxRetentionSec=%ds, MaxFileSec=%ds" % (retention, max_file) in step
        assert row["retention_basis"] == basis and "(MaxRetentionSec=3w)" in row["retention"]
        gone = NOW + datetime.timedelta(seconds=retention + max_file)
        assert "gone by %s" % gone.strftime("%Y-%m-%d %H:%M UTC") in step
    else:
        assert "no time limit" in row["retention"] and "no time-based retention is set" in step
