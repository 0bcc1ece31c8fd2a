# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: the log engine's performance goals of issue 13, side by side in one run.

Generates the realistic mail logs of benchmarks/scan_logs.py (``--size`` bytes of plain logs in
two files and the same amount of uncompressed text in two gzip -6 rotations) and, for each
subject address and for both ``local_part_case`` values (``insensitive``, the default, and
``sensitive``), times on the same files with a warm page cache, best of ``--repeat`` runs:

====================================  ===========================================================  =====
measurement                           reference command (same files)                               goal
====================================  ===========================================================  =====
scan plain, 1 process                 ``grep -F -c <address> <plain files>``                       1.0
scan plain, default workers (2)       ``grep -F -c <address> <plain files>``                       1.5
scan gzip, 1 process                  ``zcat <gz files> | grep -F -c <address>``                   1.5
redact plain (remove)                 ``grep -v -F <address> file > out && sync out`` per file     1.0
redact gzip (remove)                  ``zcat file | sed '/<address>/d' | gzip -6 > out && sync``   1.5
====================================  ===========================================================  =====

The scans are ``LogStore.locate``; the redactions ``log_redact.redact_file`` on fresh copies of
the files (flushed to disk before the clock starts), which writes a temporary file, fsyncs it and
renames it over the file. Every ratio is reference seconds / engine seconds (above 1: the engine
is faster). The one-process rows also show the ratio of CPU seconds (the engine process against
the reference's processes), which a busy machine disturbs less than wall-clock time; the goals
are about wall-clock time. The load average before and after is printed: on a shared machine
the figures move by tens of percent between runs. A script that prints figures, not a test.

    python3 benchmarks/engine_goals.py                      # 256 MB plain + 256 MB gzip (uncompressed)
    python3 benchmarks/engine_goals.py --quick              # 32 MB each, a smoke run
    python3 benchmarks/engine_goals.py --size 1G --repeat 5 --address greta.weber@example.org
"""

from __future__ import annotations

import argparse
import importlib
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GOALS = [
    ('scan plain, 1 process', 'grep -F -c', 1.0),
    ('scan plain, default workers', 'grep -F -c', 1.5),
    ('scan gzip, 1 process', 'zcat | grep -F -c', 1.5),
    ('redact plain', 'grep -v -F > out && sync', 1.0),
    ('redact gzip', 'zcat | sed | gzip -6 && sync', 1.5),
]


def _scan_bench():
    """benchmarks/scan_logs.py as a module (its log generator, size parser and import helper)."""
    sys.path.insert(0, HERE)
    try:
        return importlib.import_module('scan_logs')
    finally:
        sys.path.pop(0)


def _engine(bench):
    bench._import_store()  # pylint: disable=protected-access
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils import log_redact, store_logs, subject  # pylint: disable=import-outside-toplevel
    return log_redact, store_logs.LogStore, subject.Subject


def _cpu(who):
    use = resource.getrusage(who)
    return use.ru_utime + use.ru_stime


def measure(func, repeat, prepare=None):
    """(best wall seconds, CPU seconds of that run: this process and its children) of func()."""
    best = None
    for _run in range(repeat):
        if prepare is not None:
            prepare()
        cpu0 = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        func()
        wall = time.perf_counter() - start
        cpu = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN) - cpu0
        if best is None or wall < best[0]:
            best = (wall, cpu)
    return best


def run_cmd(argv, env):
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, check=False)  # a pipe: grep -c to /dev/null stops early
    if proc.returncode not in (0, 1):
        raise SystemExit('reference command failed: %s' % argv[0])
    return proc.stdout


def copies(sources, workdir):
    """prepare(): fresh copies of the sources in workdir, flushed to disk."""
    targets = [os.path.join(workdir, os.path.basename(src)) for src in sources]

    def prepare():
        for src, dst in zip(sources, targets):
            shutil.copyfile(src, dst)
        os.sync()  # the copies on disk: no run pays for their write-back
    return targets, prepare


def goals_for(engine, address, case, files, env, repeat, workdir):
    """[(label, engine seconds, engine cpu, reference seconds, reference cpu)] for one subject."""
    log_redact, LogStore, Subject = engine
    subject = Subject.from_params(addresses=[address], local_part_case=case)
    plain, gz = files['plain'], files['gz']
    rows = []

    grep = measure(lambda: run_cmd(['grep', '-F', '-c', '-h', '--', address] + plain, env), repeat)
    one = measure(lambda: LogStore({'paths': plain, 'workers': 1}).locate(subject), repeat)
    rows.append((GOALS[0][0], one, grep))
    default = measure(lambda: LogStore({'paths': plain}).locate(subject), repeat)
    rows.append((GOALS[1][0], default, grep))

    zgrep = measure(lambda: run_cmd(['sh', '-c', 'zcat -- "$@" | grep -F -c -- "$ADDR"', 'sh'] + gz,
                                    dict(env, ADDR=address)), repeat)
    zone = measure(lambda: LogStore({'paths': gz, 'workers': 1}).locate(subject), repeat)
    rows.append((GOALS[2][0], zone, zgrep))

    outdir = os.path.join(workdir, 'out')
    os.makedirs(outdir, exist_ok=True)
    targets, prepare = copies(plain, outdir)
    out = os.path.join(outdir, 'reference.out')
    ref = measure(lambda: [run_cmd(['sh', '-c', 'grep -v -F -- "$ADDR" "$1" > "$2" && sync "$2"', 'sh', src, out],
                                   dict(env, ADDR=address)) for src in plain], repeat, prepare)
    ours = measure(lambda: [log_redact.redact_file(t, log_redact.SubjectMatcher(subject), live=False) for t in targets],
                   repeat, prepare)
    rows.append((GOALS[3][0], ours, ref))

    targets, prepare = copies(gz, outdir)
    sed = '/%s/d' % re.escape(address).replace('/', '\\/')
    ref = measure(lambda: [run_cmd(['sh', '-c', 'zcat -- "$1" | sed "$SED" | gzip -6 > "$2" && sync "$2"', 'sh', src, out],
                                   dict(env, SED=sed)) for src in gz], repeat, prepare)
    ours = measure(lambda: [log_redact.redact_file(t, log_redact.SubjectMatcher(subject)) for t in targets],
                   repeat, prepare)
    rows.append((GOALS[4][0], ours, ref))
    for name in os.listdir(outdir):
        os.unlink(os.path.join(outdir, name))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--size', default='256M', help='plain bytes, and uncompressed bytes in gzip files (default 256M)')
    parser.add_argument('--quick', action='store_true', help='32M each: a smoke run')
    parser.add_argument('--repeat', type=int, default=3, help='runs per measurement, the fastest is kept (default 3)')
    parser.add_argument('--address', action='append', default=None,
                        help='subject address; repeat for several (default: ann@example.com, a short local part '
                             'inside many other words)')
    parser.add_argument('--case', action='append', choices=('insensitive', 'sensitive'), default=None,
                        help='local_part_case to measure (default: both)')
    parser.add_argument('--dir', default=None, help='parent directory for the generated logs (default: $TMPDIR)')
    parser.add_argument('--seed', type=int, default=5)
    args = parser.parse_args(argv)
    bench = _scan_bench()
    size = bench.parse_size('32M' if args.quick else args.size)
    addresses = args.address or ['ann@example.com']
    cases = args.case or ['insensitive', 'sensitive']
    engine = _engine(bench)
    rng = random.Random(args.seed)
    workdir = tempfile.mkdtemp(prefix='mailprivacy-goals-', dir=args.dir)
    env = dict(os.environ, LC_ALL='C')
    load_before = os.getloadavg()
    try:
        pool = bench.make_pool(rng, addresses)
        files = {'plain': [os.path.join(workdir, 'mail.log'), os.path.join(workdir, 'mail.log.1')],
                 'gz': [os.path.join(workdir, 'mail.log.2.gz'), os.path.join(workdir, 'mail.log.3.gz')]}
        plain_bytes = sum(bench.write_log(p, pool, size // 2, rng, False) for p in files['plain'])
        gz_bytes = sum(bench.write_log(p, pool, size // 2, rng, True) for p in files['gz'])
        print('logs: %.0f MB plain in 2 files, %.0f MB uncompressed in 2 gzip files (%.0f MB on disk)' % (
            plain_bytes / 1e6, gz_bytes / 1e6, sum(os.path.getsize(p) for p in files['gz']) / 1e6), flush=True)
        results = []
        for address in addresses:
            for case in cases:
                rows = goals_for(engine, address, case, files, env, args.repeat, workdir)
                results.append((address, case, rows))
                print('measured %s, local_part_case %s' % (address, case), flush=True)
        print()
        head = '%-30s %-28s %5s' % ('measurement', 'reference', 'goal')
        for address, case, _rows in results:
            head += ' | %-26s' % ('%s %s' % (address.split('@')[0], case))
        print(head)
        print('%-30s %-28s %5s' % ('', '', '') + ' | %-26s' % 'ratio (engine s/ref s)' * len(results))
        for idx, (label, reference, goal) in enumerate(GOALS):
            line = '%-30s %-28s %5.1f' % (label, reference, goal)
            for _address, _case, rows in results:
                _label, (ours, ours_cpu), (ref, ref_cpu) = rows[idx]
                ratio = ref / ours
                cell = '%5.2f %s (%.2f/%.2f)' % (ratio, 'met' if ratio >= goal else 'NOT', ours, ref)
                if idx in (0, 2):
                    cell += ' cpu %.2f' % (ref_cpu / ours_cpu if ours_cpu else 0)
                line += ' | %-26s' % cell
            print(line)
        print()
        print('ratio = reference seconds / engine seconds, best of %d runs (wall clock); "cpu": the same ratio in CPU '
              'seconds; MB: %.0f plain, %.0f gzip (uncompressed)' % (args.repeat, plain_bytes / 1e6, gz_bytes / 1e6))
        print('python %s, %d CPU(s), load average before %s, after %s' % (
            sys.version.split()[0], os.cpu_count() or 0, ' '.join('%.2f' % x for x in load_before),
            ' '.join('%.2f' % x for x in os.getloadavg())))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
