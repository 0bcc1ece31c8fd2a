# Copyright: mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""mailprivacy.gdpr.log_redact on a directory that the real multilog writes (issue 6).

On mp-qmail a writer prints N numbered lines into a pipe to daemontools' multilog (run as
qmaill with setuidgid, like the qmail log services: ``multilog t s300000 n500 <dir>``), in
bursts as fast as the pipe takes them, while the real module (``ansible -m
mailprivacy.gdpr.log_redact`` against the container) redacts the directory again and again:
``current`` in place while multilog appends to it, the ``@*.s`` archives that multilog's size
limit makes during the write by atomic replacement. 20% of the lines carry the subject
(ann@example.net, ann+news@example.net), the rest look-alikes (joann@example.net,
ann@example.net.evil, ann@example.network) and other users. After multilog has exited (it
flushes and closes ``current`` then), one last run removes the subject lines written after the
last concurrent run; the archives (in name order) and ``current`` must then hold every line of
the others exactly once, in order, untorn, no line of the subject, with multilog's owner and
modes.

Nothing can be lost before multilog: the pipe blocks the writer when multilog does not read
(for example while the module pauses it), and the archive count (n500) is far above the
rotations of the test, so multilog deletes nothing itself. Any missing line is a loss by
redaction.

The scratch directory is outside /var/log/qmail, so the role's services and the other tests
of this scenario never see it.
"""

import base64
import collections
import json
import os
import re
import subprocess
import textwrap
import time
import uuid

testinfra_hosts = ["podman://mp-qmail"]

HOST = "mp-qmail"
SCRATCH = "/var/tmp/mailprivacy-test-multilog"
WRITER_PATH = "/root/mailprivacy-test-multilog-writer.py"
LOG_USER = "qmaill"
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
BURST = 200
PAUSE = 0.35
# About 125 bytes a line with multilog's stamp: ~2.5 MB in all, ~8 rotations.
MULTILOG_SIZE = 300000
MULTILOG_COUNT = 500
MIN_RUNS_DURING_WRITE = 3
MIN_ROTATIONS = 3

# The writer, run on the target: one write(2) per line to stdout (the pipe to multilog), in
# bursts of `burst` lines with `pause` seconds between them; the done file is created when the
# last line was written.
WRITER = textwrap.dedent(
    """
    import os, sys, time
    run, n, burst, pause, done = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
    kinds = %r
    address = %r
    for i in range(n):
        kind = kinds[i %% len(kinds)]
        line = 'run=%%s seq=%%06d kind=%%s to=<%%s>, relay=local, status=sent\\n' %% (run, i, kind, address[kind])
        os.write(1, line.encode())
        if (i + 1) %% burst == 0:
            time.sleep(pause)
    open(done, 'w').close()
    """
) % (KINDS, ADDRESS)

LINE_RE = re.compile(
    r"^@[0-9a-f]{24} run=(?P<run>[0-9a-f]{12}) seq=(?P<seq>\d{6}) kind=(?P<kind>[a-z_]+) "
    r"to=<(?P<addr>[^>]*)>, relay=local, status=sent$"
)
SUBJECT_RE = re.compile(r"(?<![A-Za-z0-9._%+-])ann(\+[A-Za-z0-9._-]*)?@example\.net(?![A-Za-z0-9-]|\.[A-Za-z0-9])")


def is_subject(seq):
    return KINDS[seq % len(KINDS)] in SUBJECT_KINDS


def run_module(paths):
    """Run mailprivacy.gdpr.log_redact against the container as an ad-hoc Ansible task (the
    connection and collection path come from Molecule's inventory and environment)."""
    args = {"addresses": [SUBJECT], "hmac_key": HMAC_KEY, "paths": list(paths)}
    inventory = os.environ.get("MOLECULE_INVENTORY_FILE")
    cmd = ["ansible", HOST, "-o", "-m", "mailprivacy.gdpr.log_redact", "-a", json.dumps(args)]
    cmd += ["-i", inventory] if inventory else ["-i", HOST + ",", "-c", "containers.podman.podman"]
    # Plain one-line JSON results: Molecule's environment forces colours.
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith(HOST + " | ") and " => " in line:
            return json.loads(line.split(" => ", 1)[1])
    raise AssertionError("no result from ansible (rc %d): %s %s" % (proc.returncode, proc.stdout, proc.stderr))


def assert_clean_result(result):
    assert not result.get("failed"), result.get("msg")
    assert result["refused"] == {}
    assert SUBJECT not in json.dumps(result), "the result names the subject"


def log_files(host, log_dir):
    """{name: (owner, group, octal mode)} of the archives and current, archives in name order."""
    out = host.check_output("find %s -maxdepth 1 -type f -printf '%%f %%u %%g %%m\\n'", log_dir)
    files = {}
    for line in sorted(out.splitlines()):
        name, owner, group, mode = line.split()
        files[name] = (owner, group, mode)
    return files


def read_lines(host, path):
    data = base64.b64decode(host.check_output("base64 -w0 %s", path))
    assert b"\0" not in data, "%s holds NUL bytes (a write at a stale offset)" % path
    assert data == b"" or data.endswith(b"\n"), "%s ends inside a line" % path
    return data.decode("utf-8", "replace").splitlines()


def test_no_line_lost_while_redacting_multilog(host):
    run = uuid.uuid4().hex[:12]
    log_dir = "%s/%s" % (SCRATCH, run)
    unit = "mprt-multilog-%s" % run
    writer_done = "/run/mprt-writer-%s.done" % run
    multilog_done = "/run/mprt-multilog-%s.done" % run
    host.check_output("install -d -m 0755 -o %s %s", LOG_USER, SCRATCH)
    host.check_output(
        "printf '%%s' %s | base64 -d > %s", base64.b64encode(WRITER.encode()).decode(), WRITER_PATH
    )
    pipeline = "python3 %s %s %d %d %s %s | setuidgid %s multilog t s%d n%d %s; touch %s" % (
        WRITER_PATH, run, LINES, BURST, PAUSE, writer_done, LOG_USER, MULTILOG_SIZE, MULTILOG_COUNT,
        log_dir, multilog_done,
    )
    try:
        started = time.monotonic()
        host.check_output("systemd-run --collect --unit %s sh -c %s", unit, pipeline)

        def writing():
            return host.run("test -e %s", writer_done).rc != 0

        runs = []
        while writing():
            result = run_module([log_dir + "/*"])
            assert_clean_result(result)
            runs.append((result, writing()))
            assert time.monotonic() - started < 600, "the writer did not finish"
        write_seconds = time.monotonic() - started
        during = [r for r, still in runs if still]
        assert len(during) >= MIN_RUNS_DURING_WRITE, "only %d redactions ran during the write" % len(during)

        deadline = time.monotonic() + 120
        while host.run("test -e %s", multilog_done).rc != 0:
            assert time.monotonic() < deadline, "multilog did not exit"
            time.sleep(0.5)
        final = run_module([log_dir + "/*"])
        assert_clean_result(final)

        files = log_files(host, log_dir)
        archives = [name for name in files if re.match(r"^@[0-9a-f]{24}\.s$", name)]
        assert len(archives) >= MIN_ROTATIONS, "multilog rotated only %d times" % len(archives)
        assert set(files) == set(archives) | {"current", "lock", "state"}, sorted(files)
        # multilog's own owner and modes: archives and a closed current 0744 (complete), the
        # control files as it created them. Redaction must keep them.
        for name in archives + ["current"]:
            assert files[name][0] == LOG_USER and files[name][2] == "744", (name, files[name])
        assert host.run("ls -a %s | grep -F .mailprivacy-redact.", log_dir).stdout == "", "temporary files left"

        seqs, bad = [], []
        for name in archives + ["current"]:
            for line in read_lines(host, "%s/%s" % (log_dir, name)):
                m = LINE_RE.match(line)
                if not m or m.group("run") != run:
                    bad.append(line)
                    continue
                seq = int(m.group("seq"))
                kind = KINDS[seq % len(KINDS)]
                if m.group("kind") != kind or m.group("addr") != ADDRESS[kind] or seq >= LINES:
                    bad.append(line)
                    continue
                seqs.append(seq)
                assert not SUBJECT_RE.search(line), "%s: the subject is still named" % name
        assert not bad, "torn or altered lines: %r" % bad[:3]
        counts = collections.Counter(seqs)
        assert not [s for s, c in counts.items() if c > 1], "duplicated lines"
        assert not [s for s in seqs if is_subject(s)], "lines of the subject remain"
        expected = [s for s in range(LINES) if not is_subject(s)]
        lost = sorted(set(expected) - set(seqs))
        assert not lost, "%d lines of other users lost by redaction, e.g. seq %s" % (len(lost), lost[:5])
        assert seqs == expected, "lines out of the order multilog wrote them"

        # Every subject line was removed exactly once, over all runs.
        removed = sum(r["lines_changed"] for r, _still in runs) + final["lines_changed"]
        assert removed == len([s for s in range(LINES) if is_subject(s)])
        print(
            "multilog lines=%d checked=%d archives=%d runs during write=%d runs in all=%d "
            "lines removed=%d write %.1fs"
            % (LINES, len(seqs), len(archives), len(during), len(runs) + 1, removed, write_seconds)
        )
    finally:
        host.run("systemctl stop %s", unit)
        host.run("rm -rf %s %s %s %s", log_dir, WRITER_PATH, writer_done, multilog_done)
