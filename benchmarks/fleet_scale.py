# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: the drift check and an erase preview over a fleet of container hosts, against
``ansible -m ping`` over the same hosts.

Brings up the fleet lab (``lab/fleet/up.yml`` with ``inventories/fleet``: 20 light podman
containers of the base image, podman connection, a seeded mail.log each) unless it is running
already, then times, with the same forks (default 20), the best of ``--repeat`` runs of:

* ``ansible all -m ansible.builtin.ping``                              (the baseline)
* ``playbooks/compliance_check.yml --check`` (every role in check mode plus the log audit)
* the erase preview: ``playbooks/subject_erase.yml --check`` when it exists, else
  ``playbooks/subject_find.yml`` (the same search, read-only; the output says which ran)

and prints the times and their ratios to ping. Goal of issue 7: the erase preview within 2x
ping. A script that prints figures, not a test. The lab is removed at the end unless
``--keep`` is given.

    python3 benchmarks/fleet_scale.py                 # up, measure, down
    python3 benchmarks/fleet_scale.py --keep          # leave the containers running
    python3 benchmarks/fleet_scale.py --repeat 3 --forks 20
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
INVENTORY = os.path.join(REPO, 'inventories', 'fleet')
HMAC_KEY = 'fleet-benchmark-hmac-key-0123456789'  # a benchmark key, not a secret


def env():
    out = dict(os.environ)
    venv_bin = os.path.join(REPO, '.venv', 'bin')
    if os.path.isdir(venv_bin):
        out['PATH'] = venv_bin + os.pathsep + out.get('PATH', '')
    out.setdefault('CONTAINERS_CONF', os.path.join(REPO, 'lab', 'containers.conf'))
    out['ANSIBLE_CONFIG'] = os.path.join(REPO, 'ansible.cfg')
    out['ANSIBLE_COLLECTIONS_PATH'] = os.path.join(REPO, '.build', 'collections')
    out['ANSIBLE_NOCOLOR'] = '1'
    out['ANSIBLE_FORCE_COLOR'] = '0'
    link = os.path.join(REPO, '.build', 'collections', 'ansible_collections', 'mailprivacy', 'gdpr')
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(REPO, link)
    return out


def run(argv, environ, check=True, quiet=True):
    """(seconds, rc, tail of the output)."""
    start = time.monotonic()
    proc = subprocess.run(argv, env=environ, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          check=False)
    took = time.monotonic() - start
    out = proc.stdout.decode('utf-8', 'replace')
    if check and proc.returncode != 0:
        sys.stdout.write(out[-4000:])
        raise SystemExit('%s failed (exit %d)' % (' '.join(argv[:3]), proc.returncode))
    if not quiet:
        sys.stdout.write(out)
    return took, proc.returncode, out


def fleet_hosts(environ):
    _t, _rc, out = run(['ansible-inventory', '-i', INVENTORY, '--list'], environ)
    data = json.loads(out[out.index('{'):])
    return sorted(h for h in data.get('_meta', {}).get('hostvars', {}))


def running(environ, hosts):
    proc = subprocess.run(['podman', 'ps', '--filter', 'label=mailprivacy-fleet=true', '--format', '{{.Names}}'],
                          env=environ, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False)
    names = set(proc.stdout.decode().split())
    return all(h in names for h in hosts)


def best(label, argv, environ, repeat, allow_failure=False):
    """(best seconds, every run's seconds, exit code of the last run, a reason line on failure)."""
    times = []
    rc = 0
    reason = ''
    for _i in range(repeat):
        took, rc, out = run(argv, environ, check=False)
        if rc != 0:
            if not allow_failure:
                sys.stdout.write(out[-4000:])
                raise SystemExit('%s: exit %d' % (label, rc))
            reasons = [line.strip() for line in out.splitlines() if 'msg:' in line and 'failed' in line]
            reason = reasons[0] if reasons else 'exit %d' % rc
        times.append(took)
    return min(times), times, rc, reason


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--forks', type=int, default=20)
    parser.add_argument('--repeat', type=int, default=1, help='runs per measurement; the best counts')
    parser.add_argument('--keep', action='store_true', help='leave the fleet running')
    args = parser.parse_args()

    environ = env()
    hosts = fleet_hosts(environ)
    print('fleet: %d hosts (inventories/fleet), forks %d, podman connection' % (len(hosts), args.forks))
    if running(environ, hosts):
        print('fleet already running: reused')
        up_time = None
    else:
        up_time, _rc, _out = run(['ansible-playbook', '-i', INVENTORY, '-f', str(args.forks),
                                  os.path.join(REPO, 'lab', 'fleet', 'up.yml')], environ)
        print('fleet up (create, boot, seed): %.1f s' % up_time)

    work = tempfile.mkdtemp(prefix='fleet-bench-')
    try:
        environ['MAILPRIVACY_REPORT_DIR'] = os.path.join(work, 'reports')
        subject = os.path.join(work, 'subject.json')
        with open(subject, 'w') as handle:
            json.dump({'gdpr_subject': {'addresses': ['fleet.subject@example.org'], 'ips': ['192.0.2.99']},
                       'gdpr_hmac_key': HMAC_KEY, 'gdpr_audit_dir': os.path.join(work, 'audit'),
                       'gdpr_report_dir': os.path.join(work, 'erasure')}, handle)
        forks = ['-f', str(args.forks)]
        ping, ping_all, _rc, _why = best('ping', ['ansible', 'all', '-i', INVENTORY, '-m', 'ansible.builtin.ping']
                                         + forks, environ, args.repeat)
        drift, drift_all, _rc, _why = best('drift check', ['ansible-playbook', '-i', INVENTORY, '--check'] + forks +
                                           [os.path.join(REPO, 'playbooks', 'compliance_check.yml')],
                                           environ, args.repeat)
        rows = [('ansible -m ping', ping, ping_all, ''),
                ('drift check (compliance_check.yml --check)', drift, drift_all, '')]
        erase_pb = os.path.join(REPO, 'playbooks', 'subject_erase.yml')
        find_argv = ['ansible-playbook', '-i', INVENTORY, '-e', '@' + subject] + forks + \
            [os.path.join(REPO, 'playbooks', 'subject_find.yml')]
        preview = None
        if os.path.exists(erase_pb):
            took, every, rc, why = best('erase preview', ['ansible-playbook', '-i', INVENTORY, '--check', '-e',
                                                          '@' + subject] + forks + [erase_pb],
                                        environ, args.repeat, allow_failure=True)
            rows.append(('erase preview (subject_erase.yml --check)', took, every,
                         '' if rc == 0 else 'FAILED (exit %d): %s' % (rc, why[:150])))
            if rc == 0:
                preview = ('subject_erase.yml --check', took)
        else:
            print('subject_erase.yml does not exist yet: the erase preview is measured with subject_find.yml')
        find, find_all, _rc, _why = best('subject_find', find_argv, environ, args.repeat)
        rows.append(('search preview (subject_find.yml, read-only)', find, find_all, ''))
        if preview is None:
            preview = ('subject_find.yml (the erase preview did not succeed or does not exist)', find)

        with open(os.path.join(work, 'reports', 'compliance-latest.json')) as handle:
            report = json.load(handle)
        print()
        print('%-52s %9s %8s  %s' % ('step (best of %d)' % args.repeat, 'seconds', 'x ping', 'runs'))
        for label, took, every, note in rows:
            runs = ', '.join('%.1f' % t for t in every)
            print('%-52s %9.1f %8.2f  %s%s' % (label, took, took / ping, runs, '  ' + note if note else ''))
        print()
        print('per host (wall time / %d hosts): ping %.2f s, drift check %.2f s, %s %.2f s'
              % (len(hosts), ping / len(hosts), drift / len(hosts), preview[0].split(' ', maxsplit=1)[0], preview[1] / len(hosts)))
        s = report['summary']
        print('drift check result: %d hosts, %d compliant, %d drift, %d error, %d unreachable; %d controls'
              % (s['hosts'], s['compliant'], s['drift'], s['error'], s['unreachable'], s['controls']))
        ratio = preview[1] / ping
        print('goal (erase preview within 2x ping), measured with %s: %s (%.2fx)'
              % (preview[0], 'met' if ratio <= 2.0 else 'NOT met', ratio))
        if len(ping_all) > 1:
            print('ping: median %.1f s of %d runs' % (statistics.median(ping_all), len(ping_all)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if not args.keep:
            took, _rc, _out = run(['ansible-playbook', '-i', INVENTORY, os.path.join(REPO, 'lab', 'fleet', 'down.yml')],
                                  environ, check=False)
            print('fleet removed (%.1f s)' % took)


if __name__ == '__main__':
    main()
