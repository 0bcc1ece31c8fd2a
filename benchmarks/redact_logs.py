# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: log_redact.redact_file removing one subject's lines against sed.

Generates the same realistic mail logs as benchmarks/scan_logs.py (``--size`` bytes of plain
logs and the same amount of uncompressed text in gzip -6 rotations), then times on the same
files (page cache warm; each run on a fresh copy):

* ``LC_ALL=C sed '/<address>/d' file > out`` for the plain files
* ``zcat file | LC_ALL=C sed '/<address>/d' | gzip -6 > out`` for the gzip files
* ``redact_file`` (remove) on the plain files (atomic rename path) and on the gzip files
  (recompressed through zlib at log_redact.GZIP_LEVEL, the same level as gzip's default -6)

and prints throughput (MB of uncompressed log per second) and the ratios to sed. A script that
prints figures, not a test.

    python3 benchmarks/redact_logs.py            # about 1 GB plain + 1 GB (uncompressed) gzip
    python3 benchmarks/redact_logs.py --quick    # 64 MB each
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import shutil
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _scan_bench():
    spec = importlib.util.spec_from_file_location('scan_logs', os.path.join(HERE, 'scan_logs.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def timed(func):
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--size', default='1G', help='plain bytes, and uncompressed bytes in gzip files (default 1G)')
    parser.add_argument('--quick', action='store_true', help='64M each: a smoke run')
    parser.add_argument('--address', default='greta.weber@example.org')
    parser.add_argument('--dir', default=None)
    parser.add_argument('--seed', type=int, default=5)
    args = parser.parse_args(argv)
    scan = _scan_bench()
    size = scan.parse_size('64M' if args.quick else args.size)
    _LogStore, Subject = scan._import_store()  # pylint: disable=protected-access
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils import log_redact
    subject = Subject.from_params(addresses=[args.address])
    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix='mailprivacy-redact-bench-', dir=args.dir)
    env = dict(os.environ, LC_ALL='C')
    pattern = '/%s/d' % args.address.replace('.', '\\.')
    try:
        pool = scan.make_pool(rng, [args.address])
        src = os.path.join(work, 'src')
        os.makedirs(src)
        plain = [os.path.join(src, 'mail.log.1')]
        gz = [os.path.join(src, 'mail.log.%d.gz' % i) for i in range(2, 4)]
        plain_bytes = sum(scan.write_log(p, pool, size // len(plain), rng, False) for p in plain)
        gz_bytes = sum(scan.write_log(p, pool, size // len(gz), rng, True) for p in gz)
        print('generated plain %.0f MB, gzip %.0f MB uncompressed (%.0f MB on disk)' % (
            plain_bytes / 1e6, gz_bytes / 1e6, sum(os.path.getsize(p) for p in gz) / 1e6), flush=True)
        rows = []

        def copies(files, tag):
            out = []
            for path in files:
                dst = os.path.join(work, tag + '-' + os.path.basename(path))
                shutil.copyfile(path, dst)
                out.append(dst)
            scan.warm(out)
            return out

        files = copies(plain, 'sed')
        secs, _r = timed(lambda: [subprocess.run('sed %s %s > %s.out' % (repr(pattern), f, f), shell=True,
                                                 env=env, check=True) for f in files])
        sed_plain = plain_bytes / secs / 1e6
        rows.append(('sed /addr/d > out (plain)', secs, sed_plain, sed_plain))
        for f in files:
            os.unlink(f + '.out')
        files = copies(plain, 'eng')
        secs, res = timed(lambda: [log_redact.redact_file(f, log_redact.SubjectMatcher(subject), live=False) for f in files])
        rows.append(('redact_file remove (plain, rename)', secs, plain_bytes / secs / 1e6, sed_plain))
        removed = sum(r['lines_changed'] for r in res)

        files = copies(gz, 'sed')
        secs, _r = timed(lambda: [subprocess.run('zcat %s | sed %s | gzip -6 > %s.out' % (f, repr(pattern), f),
                                                 shell=True, env=env, check=True) for f in files])
        sed_gz = gz_bytes / secs / 1e6
        rows.append(('zcat | sed /addr/d | gzip -6 (gzip)', secs, sed_gz, sed_gz))
        files = copies(gz, 'eng')
        secs, res = timed(lambda: [log_redact.redact_file(f, log_redact.SubjectMatcher(subject)) for f in files])
        rows.append(('redact_file remove (gzip, zlib level %d)' % log_redact.GZIP_LEVEL, secs,
                     gz_bytes / secs / 1e6, sed_gz))
        removed += sum(r['lines_changed'] for r in res)
        print()
        print('%-44s %8s %8s %9s' % ('measurement', 'seconds', 'MB/s', 'ratio/sed'))
        for label, secs, rate, base in rows:
            print('%-44s %8.2f %8.0f %9.2f' % (label, secs, rate, rate / base))
        print('\nlines removed by the engine: %d (sed removes the literal address, look-alikes included)' % removed)
        print('MB/s: uncompressed log bytes per wall-clock second, one run, page cache warm; '
              'gzip recompression level %d on both sides.' % log_redact.GZIP_LEVEL)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
