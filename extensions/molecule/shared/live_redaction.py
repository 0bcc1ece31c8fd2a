# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The live-redaction verifier shared by the mail_logging (rsyslog) and qmail (multilog)
scenarios: mailprivacy.gdpr.log_redact runs again and again against files that a real
logger writes while a writer on the target emits LINES numbered lines; then every line of
the others must be there exactly once, in order, untorn, and no line of the subject.

The writer's lines: ``run=<run> seq=<seq> kind=<kind> to=<address>, relay=local,
status=sent``; 20% of them carry the subject (ann@example.net, ann+news@example.net), the
rest look-alikes (joann@example.net, ann@example.net.evil, ann@example.network) and other
users. Each scenario has its own writer and logger and its own line prefix (LINE_RE)."""

from __future__ import annotations

import base64
import collections
import json
import re
import time

from verify_helpers import run_module

HMAC_KEY = "mailprivacy-test-hmac-key-0123456789"
SUBJECT = "ann@example.net"
KINDS = ("subject", "subject_plus", "joann", "joann", "evil", "network", "bob", "bob", "carol", "carol")
ADDRESS = {
    "subject": "ann@example.net",
    "subject_plus": "ann+news@example.net",
    "joann": "joann@example.net",
    "evil": "ann@example.net.evil",
    "network": "ann@example.network",
    "bob": "bob@example.org",
    "carol": "carol@example.com",
}
SUBJECT_KINDS = ("subject", "subject_plus")
LINES = 20000
MIN_RUNS_DURING_WRITE = 3
# what follows a logger's prefix in a line of the writer
LINE_BODY = (r"run=(?P<run>[0-9a-f]{12}) seq=(?P<seq>\d{6}) kind=(?P<kind>[a-z_]+) "
             r"to=<(?P<addr>[^>]*)>, relay=local, status=sent$")
# Any form of the subject's address (plus-addressed too) that is not a look-alike.
SUBJECT_RE = re.compile(r"(?<![A-Za-z0-9._%+-])ann(\+[A-Za-z0-9._-]*)?@example\.net(?![A-Za-z0-9-]|\.[A-Za-z0-9])")
# The writer's loop (Python on the target); the scenario's writer defines run, n, burst,
# pause, done and emit(msg) before it.
WRITER_LOOP = """
kinds = %r
address = %r
for i in range(n):
    kind = kinds[i %% len(kinds)]
    emit('run=%%s seq=%%06d kind=%%s to=<%%s>, relay=local, status=sent' %% (run, i, kind, address[kind]))
    if (i + 1) %% burst == 0:
        time.sleep(pause)
open(done, 'w').close()
""" % (KINDS, ADDRESS)


def is_subject(seq):
    return KINDS[seq % len(KINDS)] in SUBJECT_KINDS


def redact(host_name, paths):
    """mailprivacy.gdpr.log_redact of the subject on ``paths`` against the container (an
    ad-hoc Ansible task); its result after assert_clean_result."""
    result = run_module(host_name, "mailprivacy.gdpr.log_redact",
                        {"addresses": [SUBJECT], "hmac_key": HMAC_KEY, "paths": list(paths)})
    assert_clean_result(result)
    return result


def assert_clean_result(result):
    assert not result.get("failed"), result.get("msg")
    assert result["refused"] == {}
    assert "subject_hmac" in result
    assert SUBJECT not in json.dumps(result), "the result names the subject"


def install_writer(host, path, script):
    """Copy the writer's Python source to ``path`` on the target."""
    host.check_output("printf '%%s' %s | base64 -d > %s", base64.b64encode(script.encode()).decode(), path)


def read_lines(host, path):
    """The file's lines (bytes decoded as UTF-8, which the writer's lines are); no NUL byte
    and no torn last line."""
    data = base64.b64decode(host.check_output("base64 -w0 %s", path))
    assert b"\0" not in data, "%s holds NUL bytes (a write at a stale offset)" % path
    assert data == b"" or data.endswith(b"\n"), "%s ends inside a line" % path
    return data.decode("utf-8", "replace").splitlines()


def writer_seq(line, line_re, run):
    """The sequence number of a well-formed line of this run's writer, else None."""
    m = line_re.match(line)
    if not m or m.group("run") != run:
        return None
    seq = int(m.group("seq"))
    kind = KINDS[seq % len(KINDS)]
    if m.group("kind") != kind or m.group("addr") != ADDRESS[kind] or seq >= LINES:
        return None
    return seq


def redact_while_writing(host, host_name, paths, done):
    """Redact ``paths`` again and again until the writer has created ``done``; at least
    MIN_RUNS_DURING_WRITE runs must have started while it was writing. Returns ([(result,
    still writing after it)], seconds)."""
    started = time.monotonic()

    def writing():
        return host.run("test -e %s", done).rc != 0

    runs = []
    while writing():
        result = redact(host_name, paths)
        runs.append((result, writing()))
        assert time.monotonic() - started < 600, "the writer did not finish"
    during = [r for r, still in runs if still]
    assert len(during) >= MIN_RUNS_DURING_WRITE, "only %d redactions ran during the write" % len(during)
    return runs, time.monotonic() - started


def assert_others_intact(seqs, expected, where, order_of):
    """``seqs`` (the writer's lines found, in file order) are ``expected`` exactly: no line
    twice, none of the subject, none of the others lost, in the order ``order_of`` wrote them."""
    counts = collections.Counter(seqs)
    assert not [s for s, c in counts.items() if c > 1], "%sduplicated lines" % where
    assert not [s for s in seqs if is_subject(s)], "%slines of the subject remain" % where
    lost = sorted(set(expected) - set(seqs))
    assert not lost, "%s%d lines of other users lost by redaction, e.g. seq %s" % (where, len(lost), lost[:5])
    assert seqs == expected, "%slines out of the order %s wrote them" % (where, order_of)


def lines_removed(runs, final):
    """The subject's lines that every run (and the final one) removed, added up."""
    return sum(r["lines_changed"] for r, _still in runs) + final["lines_changed"]
