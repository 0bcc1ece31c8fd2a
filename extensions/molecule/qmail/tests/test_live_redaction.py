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

import re
import textwrap
import time
import uuid

import live_redaction as lr

testinfra_hosts = ["podman://mp-qmail"]

HOST = "mp-qmail"
SCRATCH = "/var/tmp/mailprivacy-test-multilog"
WRITER_PATH = "/root/mailprivacy-test-multilog-writer.py"
LOG_USER = "qmaill"
BURST = 200
PAUSE = 0.35
# About 125 bytes a line with multilog's stamp: ~2.5 MB in all, ~8 rotations.
MULTILOG_SIZE = 300000
MULTILOG_COUNT = 500
MIN_ROTATIONS = 3

# The writer, run on the target: one write(2) per line to stdout (the pipe to multilog), in
# bursts of `burst` lines with `pause` seconds between them; the done file is created when the
# last line was written.
WRITER = textwrap.dedent(
    """
    import os, sys, time
    run, n, burst, pause, done = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
    def emit(msg):
        os.write(1, (msg + '\\n').encode())
    """
) + lr.WRITER_LOOP

# A line of the writer as multilog writes it (a TAI64N stamp first).
LINE_RE = re.compile(r"^@[0-9a-f]{24} " + lr.LINE_BODY)


def log_files(host, log_dir):
    """{name: (owner, group, octal mode)} of the archives and current, archives in name order."""
    out = host.check_output("find %s -maxdepth 1 -type f -printf '%%f %%u %%g %%m\\n'", log_dir)
    files = {}
    for line in sorted(out.splitlines()):
        name, owner, group, mode = line.split()
        files[name] = (owner, group, mode)
    return files


def test_no_line_lost_while_redacting_multilog(host):
    run = uuid.uuid4().hex[:12]
    log_dir = "%s/%s" % (SCRATCH, run)
    unit = "mprt-multilog-%s" % run
    writer_done = "/run/mprt-writer-%s.done" % run
    multilog_done = "/run/mprt-multilog-%s.done" % run
    host.check_output("install -d -m 0755 -o %s %s", LOG_USER, SCRATCH)
    lr.install_writer(host, WRITER_PATH, WRITER)
    pipeline = "python3 %s %s %d %d %s %s | setuidgid %s multilog t s%d n%d %s; touch %s" % (
        WRITER_PATH, run, lr.LINES, BURST, PAUSE, writer_done, LOG_USER, MULTILOG_SIZE, MULTILOG_COUNT,
        log_dir, multilog_done,
    )
    try:
        host.check_output("systemd-run --collect --unit %s sh -c %s", unit, pipeline)
        runs, write_seconds = lr.redact_while_writing(host, HOST, [log_dir + "/*"], writer_done)
        during = [r for r, still in runs if still]

        deadline = time.monotonic() + 120
        while host.run("test -e %s", multilog_done).rc != 0:
            assert time.monotonic() < deadline, "multilog did not exit"
            time.sleep(0.5)
        final = lr.redact(HOST, [log_dir + "/*"])

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
            for line in lr.read_lines(host, "%s/%s" % (log_dir, name)):
                seq = lr.writer_seq(line, LINE_RE, run)
                if seq is None:
                    bad.append(line)
                    continue
                seqs.append(seq)
                assert not lr.SUBJECT_RE.search(line), "%s: the subject is still named" % name
        assert not bad, "torn or altered lines: %r" % bad[:3]
        expected = [s for s in range(lr.LINES) if not lr.is_subject(s)]
        lr.assert_others_intact(seqs, expected, "", "multilog")

        # Every subject line was removed exactly once, over all runs.
        removed = lr.lines_removed(runs, final)
        assert removed == len([s for s in range(lr.LINES) if lr.is_subject(s)])
        print(
            "multilog lines=%d checked=%d archives=%d runs during write=%d runs in all=%d "
            "lines removed=%d write %.1fs"
            % (lr.LINES, len(seqs), len(archives), len(during), len(runs) + 1, removed, write_seconds)
        )
    finally:
        host.run("systemctl stop %s", unit)
        host.run("rm -rf %s %s %s %s", log_dir, WRITER_PATH, writer_done, multilog_done)
