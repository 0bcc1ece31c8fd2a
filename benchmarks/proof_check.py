# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: what the independent check adds to an erasure.

Generates the mail logs of benchmarks/scan_logs.py (4000 users, the subject on about one line
in 2000, look-alikes, Postfix, Dovecot, Courier and qmail lines): ``--size`` bytes of plain logs
(a live and a rotated file) and the same amount of uncompressed text in gzip rotations. Then it
times, with a warm page cache, the best of ``--repeat`` runs of

* ``LogStore.locate`` (the matcher's count, as the erasure runs it before and after), and
* ``proof_check.run_check`` (the independent check subject_erase runs after the erasure),

both with the log store's defaults (2 worker processes), for a subject with an address only and
for one with an address, a login and an IPv4 and an IPv6 address. It prints the seconds, the
throughput (MB of uncompressed log per second) and what the check adds, in seconds and as a
ratio to the matcher's count. A script that prints figures, not a test.

    python3 benchmarks/proof_check.py              # 100 MB plain + 100 MB (uncompressed) gzip
    python3 benchmarks/proof_check.py --size 500M --repeat 5
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from scan_logs import COLLECTIONS, REPO, best_of, make_pool, parse_size, warm, write_log  # noqa: E402


def _imports():
    link = os.path.join(COLLECTIONS, 'ansible_collections', 'mailprivacy', 'gdpr')
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(REPO, link)
    sys.path.insert(0, COLLECTIONS)
    # pylint: disable=import-outside-toplevel
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils.proof_check import run_check
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_logs import LogStore
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject
    return run_check, LogStore, Subject


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--size', default='100M', help='plain bytes, and uncompressed bytes in gzip files (default 100M)')
    parser.add_argument('--repeat', type=int, default=3, help='runs per measurement, best is kept (default 3)')
    parser.add_argument('--dir', default=None, help='parent directory for the generated logs (default: $TMPDIR)')
    args = parser.parse_args(argv)
    run_check, LogStore, Subject = _imports()
    size = parse_size(args.size)
    rng = random.Random(12)
    pool = make_pool(rng, ['ann@example.com', 'greta.weber@example.org'])
    top = tempfile.mkdtemp(prefix='mailprivacy-proofbench-', dir=args.dir)
    try:
        os.mkdir(os.path.join(top, 'log'))
        plain_bytes = write_log(os.path.join(top, 'log', 'mail.log'), pool, size // 2, rng, False)
        plain_bytes += write_log(os.path.join(top, 'log', 'mail.log.1'), pool, size - size // 2, rng, False)
        gz_bytes = 0
        for i in range(4):
            gz_bytes += write_log(os.path.join(top, 'log', 'mail.log.%d.gz' % (i + 2)), pool, size // 4, rng, True)
        total = plain_bytes + gz_bytes
        paths = [os.path.join(top, 'log', '*')]
        files = [os.path.join(top, 'log', n) for n in sorted(os.listdir(os.path.join(top, 'log')))]
        print('logs: %.0f MB plain + %.0f MB uncompressed in gzip files (%d files)'
              % (plain_bytes / 1e6, gz_bytes / 1e6, len(files)), flush=True)
        subjects = (
            ('address', Subject.from_params(addresses=['ann@example.com'])),
            ('address, login, IPv4, IPv6',
             Subject.from_params(addresses=['ann@example.com'], logins=['ann'], ips=['192.0.2.4', '2a01:4f8:c17:b8f2::1'])),
            # every IPv6 address of the generated logs is in 2001:db8::/32: its rarest group
            # (db8) is on 15 % of the lines with an address, the worst case
            ('IPv6 of a busy network', Subject.from_params(ips=['2001:db8::1'])),
        )
        for label, subject in subjects:
            store = LogStore({'paths': paths})
            warm(files)
            matcher_secs, found = best_of(args.repeat, lambda: store.locate(subject)['found'])
            warm(files)
            check_secs, out = best_of(args.repeat, lambda: run_check(subject, [LogStore({'paths': paths})]))
            print('  %-28s matcher count %6.2f s %5.0f MB/s (%d lines) | independent check %6.2f s %5.0f MB/s '
                  '(%d candidates) | adds %.2f s = %.2fx the count'
                  % (label, matcher_secs, total / matcher_secs / 1e6, found, check_secs, total / check_secs / 1e6,
                     out['candidates'], check_secs, check_secs / matcher_secs), flush=True)
    finally:
        shutil.rmtree(top)
    return 0


if __name__ == '__main__':
    started = time.time()
    code = main()
    print('(%.0f s in all)' % (time.time() - started))
    sys.exit(code)
