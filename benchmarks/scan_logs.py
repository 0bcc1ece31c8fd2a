# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: LogStore's subject scan against grep -F -c and zcat | grep -F -c.

Generates realistic Debian mail logs (Postfix, Dovecot, Courier, qmail lines; many users,
the subject on about one line in 2000, look-alike addresses) in a temporary directory:
``--size`` bytes of plain logs (a live and a rotated file) and the same amount of
uncompressed text in gzip rotations. Then it times, on the same files with a warm page
cache, the best of ``--repeat`` runs of:

* ``LC_ALL=C grep -F -c <address> <plain files>``
* ``zcat <gz files> | LC_ALL=C grep -F -c <address>``
* ``LogStore.locate`` on the plain files and on the gzip files: in one process
  (``workers: 1``), with the reader thread (``threads: true``, one process), and with two
  worker processes (``workers: 2``, the store's default, one file per worker at a time)

and prints throughput (MB of uncompressed log per second) and the ratios to grep.
This is a script that prints figures, not a test: it asserts nothing about speed.

    python3 benchmarks/scan_logs.py            # about 1 GB plain + 1 GB (uncompressed) gzip
    python3 benchmarks/scan_logs.py --quick    # 64 MB each, a smoke run
    python3 benchmarks/scan_logs.py --size 300M --repeat 5
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
COLLECTIONS = os.path.join(REPO, '.build', 'collections')


def _import_store():
    link = os.path.join(COLLECTIONS, 'ansible_collections', 'mailprivacy', 'gdpr')
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(REPO, link)
    sys.path.insert(0, COLLECTIONS)
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_logs import LogStore
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject
    return LogStore, Subject


FIRST = ['anna', 'ben', 'carla', 'dirk', 'eva', 'felix', 'greta', 'hans', 'ines', 'jonas', 'karin',
         'lars', 'mia', 'nils', 'olga', 'paul', 'rita', 'sven', 'tina', 'uwe', 'vera', 'willi']
LAST = ['meyer', 'schmidt', 'schulz', 'weber', 'wagner', 'becker', 'hoffmann', 'koch', 'richter',
        'klein', 'wolf', 'neumann', 'braun', 'zimmermann', 'krueger', 'hartmann', 'lange']
DOMAINS = ['example.com', 'example.org', 'example.net', 'kunde-a.example', 'mail.example.de',
           'shop.example.com', 'verein.example.org']
HOSTS = ['mx1', 'mx2', 'imap1']


def _users(rng, count):
    users = set()
    while len(users) < count:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        local = rng.choice(['%s.%s' % (first, last), first + last, '%s_%s' % (first, last),
                            first[0] + last, first])
        if rng.random() < 0.3:
            local += str(rng.randrange(1, 99))
        users.add('%s@%s' % (local, rng.choice(DOMAINS)))
    return sorted(users)


def _ip(rng):
    if rng.random() < 0.15:
        return '2001:db8:%x::%x' % (rng.randrange(1, 0xffff), rng.randrange(1, 0xffff))
    return '%d.%d.%d.%d' % (rng.choice([198, 203, 192, 100]), rng.randrange(256), rng.randrange(256),
                            rng.randrange(1, 255))


def _qid(rng):
    return '%010X' % rng.randrange(16 ** 10)


def _line(rng, user, peer):
    host = rng.choice(HOSTS)
    pid = rng.randrange(1000, 65000)
    ip = _ip(rng)
    qid = _qid(rng)
    kind = rng.randrange(12)
    if kind == 0:
        return '%s postfix/smtpd[%d]: connect from unknown[%s]' % (host, pid, ip)
    if kind == 1:
        return '%s postfix/smtpd[%d]: %s: client=unknown[%s], sasl_method=PLAIN, sasl_username=%s' % (
            host, pid, qid, ip, user)
    if kind == 2:
        return '%s postfix/cleanup[%d]: %s: message-id=<%s.%d@%s>' % (
            host, pid, qid, _qid(rng).lower(), pid, peer.split('@')[1])
    if kind == 3:
        return '%s postfix/qmgr[%d]: %s: from=<%s>, size=%d, nrcpt=1 (queue active)' % (
            host, pid, qid, peer, rng.randrange(800, 900000))
    if kind == 4:
        return ('%s postfix/smtp[%d]: %s: to=<%s>, relay=mx.%s[%s]:25, delay=%.1f, '
                'delays=0.1/0/0.2/0.3, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as %s)') % (
            host, pid, qid, user, peer.split('@')[1], ip, rng.random() * 3, _qid(rng))
    if kind == 5:
        return ('%s dovecot: imap-login: Login: user=<%s>, method=PLAIN, rip=%s, lip=192.0.2.10, '
                'mpid=%d, TLS, session=<%s>') % (host, user, ip, pid, _qid(rng))
    if kind == 6:
        return '%s dovecot: imap(%s)<%d><%s>: Logged out in=%d out=%d deleted=0 expunged=0 trashed=0' % (
            host, user, pid, _qid(rng), rng.randrange(50, 9000), rng.randrange(300, 90000))
    if kind == 7:
        return '%s dovecot: lmtp(%s)<%d><%s>: msgid=<%s@%s>: saved mail to INBOX' % (
            host, user, pid, _qid(rng), _qid(rng), peer.split('@')[1])
    if kind == 8:
        return '%s courierpop3login: LOGIN, user=%s, ip=[::ffff:%s], port=[%d]' % (
            host, user, ip if ':' not in ip else '203.0.113.9', rng.randrange(1024, 65000))
    if kind == 9:
        return '%s qmail: %d.%06d delivery %d: success: did_1+0+0/' % (
            host, rng.randrange(10 ** 9), rng.randrange(10 ** 6), rng.randrange(1, 99999))
    if kind == 10:
        return '%s qmail: %d.%06d starting delivery %d: msg %d to remote %s' % (
            host, rng.randrange(10 ** 9), rng.randrange(10 ** 6), rng.randrange(1, 99999),
            rng.randrange(10 ** 6), user)
    return '%s postfix/smtpd[%d]: disconnect from unknown[%s] ehlo=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=6' % (
        host, pid, ip)


def make_pool(rng, subjects, lines=200000):
    """Log lines of 4000 users; each subject (its plain, plus-addressed and upper-case
    domain forms) on one line in 2000, look-alikes of it on another one in 2000."""
    users = _users(rng, 4000)
    variants = []
    lookalikes = []
    for subject in subjects:
        local, dom = subject.split('@')
        lookalikes.append(['jo%s@%s' % (local, dom), '%s@%s.evil' % (local, dom), '%sx@%s' % (local, dom),
                           '%s@%s' % (local, 'other.example')])
        variants.append([subject, '%s+news@%s' % (local, dom), '%s@%s' % (local, dom.upper())])
    pool = []
    for i in range(lines):
        which = (i // 2000) % len(subjects)
        if i % 2000 == 0:
            user = rng.choice(variants[which])
        elif i % 2000 == 1000:
            user = rng.choice(lookalikes[which])
        else:
            user = rng.choice(users)
        pool.append(_line(rng, user, rng.choice(users)))
    return pool


def write_log(path, pool, size, rng, compress):
    """Write about ``size`` bytes of syslog lines (uncompressed) to path (gzip with gzip -6)."""
    start = 1700000000 + rng.randrange(10 ** 6)
    written = 0
    proc = None
    if compress:
        out = open(path, 'wb')
        proc = subprocess.Popen(['gzip', '-6', '-c'], stdin=subprocess.PIPE, stdout=out)
        sink = proc.stdin
    else:
        out = open(path, 'wb')
        sink = out
    try:
        block = 0
        while written < size:
            stamp = time.strftime('%b %d %H:%M:%S', time.gmtime(start + block * 37))
            lines = rng.choices(pool, k=20000)
            data = ('\n'.join('%s %s' % (stamp, line) for line in lines) + '\n').encode('utf-8')
            if written + len(data) > size:
                data = data[:data.rfind(b'\n', 0, max(1, size - written)) + 1] or data
            sink.write(data)
            written += len(data)
            block += 1
    finally:
        if proc is not None:
            proc.stdin.close()
            proc.wait()
        out.close()
    return written


def parse_size(text):
    text = text.strip().upper()
    mult = 1
    for suffix, factor in (('K', 1 << 10), ('M', 1 << 20), ('G', 1 << 30)):
        if text.endswith(suffix) or text.endswith(suffix + 'B'):
            mult = factor
            text = text.rstrip('B')[:-1]
            break
    return int(float(text) * mult)


def best_of(repeat, func):
    best = None
    result = None
    for _run in range(repeat):
        start = time.perf_counter()
        result = func()
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best, result


def warm(paths):
    for path in paths:
        with open(path, 'rb') as handle:
            while handle.read(16 << 20):
                pass


def measure(LogStore, Subject, address, plain, gz, plain_bytes, gz_bytes, env, repeat):
    subject = Subject.from_params(addresses=[address])

    def grep_plain():
        out = subprocess.run(['grep', '-F', '-c', '-h', '--', address] + plain, env=env,
                             stdout=subprocess.PIPE, check=False).stdout
        return sum(int(x) for x in out.split())

    def grep_gz():
        cmd = 'zcat -- "$@" | grep -F -c -- "$ADDR"'
        out = subprocess.run(['sh', '-c', cmd, 'sh'] + gz, env=dict(env, ADDR=address),
                             stdout=subprocess.PIPE, check=False).stdout
        return int(out.strip())

    def store(paths, threads=False, workers=1):
        st = LogStore({'paths': paths, 'threads': threads, 'workers': workers})
        return lambda: st.locate(subject)['found']

    rows = []
    for kind, files, nbytes, base_label, base_func in (
            ('plain', plain, plain_bytes, 'grep -F -c', grep_plain),
            ('gzip', gz, gz_bytes, 'zcat | grep -F -c', grep_gz)):
        warm(files)
        secs, count = best_of(repeat, base_func)
        base_rate = nbytes / secs / 1e6
        rows.append(('%s %s (%s)' % (base_label, address, kind), secs, base_rate, count, base_rate))
        print('  %-58s %7.2f s %6.0f MB/s lines=%d' % rows[-1][:4], flush=True)
        for label, func in (('LogStore.locate, 1 process', store(files)),
                            ('LogStore.locate, 1 process + reader', store(files, True)),
                            ('LogStore.locate, 2 workers (default)', store(files, False, 2))):
            warm(files)
            secs, count = best_of(repeat, func)
            rows.append(('%s %s (%s)' % (label, address, kind), secs, nbytes / secs / 1e6, count, base_rate))
            print('  %-58s %7.2f s %6.0f MB/s lines=%d' % rows[-1][:4], flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--size', default='1G', help='plain bytes, and uncompressed bytes in gzip files (default 1G)')
    parser.add_argument('--quick', action='store_true', help='64M each: a smoke run')
    parser.add_argument('--repeat', type=int, default=3, help='runs per measurement, best is kept (default 3)')
    parser.add_argument('--address', action='append', default=None,
                        help='a subject address to look for; repeat for several (default: '
                             'ann@example.com, a short local part that many surnames end in, and '
                             'greta.weber@example.org)')
    parser.add_argument('--dir', default=None, help='parent directory for the generated logs (default: $TMPDIR)')
    parser.add_argument('--keep', action='store_true', help='keep the generated logs')
    parser.add_argument('--seed', type=int, default=5)
    args = parser.parse_args(argv)
    size = parse_size('64M' if args.quick else args.size)

    LogStore, Subject = _import_store()
    addresses = args.address or ['ann@example.com', 'greta.weber@example.org']
    for address in addresses:
        Subject.from_params(addresses=[address])
    rng = random.Random(args.seed)
    workdir = tempfile.mkdtemp(prefix='mailprivacy-bench-', dir=args.dir)
    env = dict(os.environ, LC_ALL='C')
    try:
        print('generating %.0f MB plain + %.0f MB (uncompressed) gzip logs in %s' % (
            size / 1e6, size / 1e6, workdir), flush=True)
        t0 = time.perf_counter()
        pool = make_pool(rng, addresses)
        plain = [os.path.join(workdir, 'mail.log'), os.path.join(workdir, 'mail.log.1')]
        gz = [os.path.join(workdir, 'mail.log.%d.gz' % i) for i in range(2, 6)]
        plain_bytes = sum(write_log(p, pool, size // len(plain), rng, False) for p in plain)
        gz_bytes = sum(write_log(p, pool, size // len(gz), rng, True) for p in gz)
        gz_disk = sum(os.path.getsize(p) for p in gz)
        print('generated in %.1f s: plain %.1f MB in %d files, gzip %.1f MB uncompressed '
              '(%.1f MB on disk) in %d files' % (time.perf_counter() - t0, plain_bytes / 1e6, len(plain),
                                                 gz_bytes / 1e6, gz_disk / 1e6, len(gz)), flush=True)

        rows = []
        for address in addresses:
            rows.extend(measure(LogStore, Subject, address, plain, gz, plain_bytes, gz_bytes, env, args.repeat))

        print()
        print('%-58s %8s %8s %8s %11s' % ('measurement', 'seconds', 'MB/s', 'lines', 'ratio/grep'))
        for label, secs, rate, count, base in rows:
            print('%-58s %8.2f %8.0f %8d %11.2f' % (label, secs, rate, count, rate / base))
        print()
        print('MB/s: uncompressed log bytes per wall-clock second, best of %d runs, page cache warm.'
              % args.repeat)
        print('grep counts every line holding the literal address, look-alikes included '
              '(joann@..., ...@example.com.evil) and misses the upper-case domain and '
              'plus-addressed forms; LogStore counts exactly the subject\'s lines, so the line '
              'counts differ by design.')
        load = ' '.join('%.2f' % x for x in os.getloadavg())
        print('python %s, %d CPU(s), load average %s' % (sys.version.split()[0], os.cpu_count() or 0, load))
    finally:
        if args.keep:
            print('kept %s' % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
