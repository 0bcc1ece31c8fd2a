# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of an erasure (GDPR Art. 17): the erasure report.

From every host's registered results (``subject_erase`` as ``<prefix>erase``, the proof search
``subject_find`` as ``<prefix>proof``) it builds one report: the subject's HMAC, per host and
store the counts before and after and what the proof search found, timestamps, the manual steps
still open and a verdict:

* ``erased everywhere``: every host erased every store, the proof search found nothing and the
  independent check (module_utils/proof_check.py, run by ``subject_erase``) found no candidate;
* ``candidates for review``: the same, but the independent check found lines that may still
  name the subject (or could not read everything): a person reviews them (counts and file
  names or hashes only are in the report);
* ``manual steps open``: everything automated is proven erased, but some steps need a person
  (the KLMS Backup);
* ``incomplete``: a host or a store failed, or the proof search still finds data (the reasons
  say where);
* ``preview``: a check-mode run; nothing was erased.

``candidates for review`` and ``manual steps open`` end the playbook without an error: the run
did what it could, and the report says what is left for a person.

The report is written as JSON and Markdown (mode 0600, directory 0700). Never an identifier:
free texts that match the subject are withheld (:class:`audit.Screen`).
"""

from __future__ import annotations

import errno
import json
import os

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.request import store_summary
from ansible_collections.mailprivacy.gdpr.plugins.plugin_utils.audit import (
    private_dir,
    registered,
    timestamp,
)

REPORT_FORMAT = 'mailprivacy.gdpr/erasure-report'
REPORT_VERSION = 1
VERDICTS = ('erased everywhere', 'candidates for review', 'manual steps open', 'incomplete', 'preview')
CHECK_CATEGORIES = ('live', 'rotated', 'compressed', 'multilog')


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _failure(step, res):
    if res.get('unreachable'):
        return '%s: the host could not be reached' % step
    msg = res.get('msg') if isinstance(res.get('msg'), str) and res.get('msg') else 'failed'
    return '%s: %s' % (step, msg)


def independent_check(erase):
    """The independent check of a host's subject_erase result, reduced to counts and file
    names (or hashes): {ran, candidates, lines, journal, unreadable, files, reason?, error?}."""
    check = erase.get('independent_check') if isinstance(erase, dict) else None
    if not isinstance(check, dict):
        return {'ran': False, 'reason': 'the host returned no independent check', 'candidates': 0, 'lines': 0,
                'journal': 0, 'unreadable': 0, 'files': []}
    out = {'ran': bool(check.get('ran'))}
    for key in ('lines', 'journal', 'unreadable'):
        out[key] = max(_int(check.get(key)) or 0, 0)
    out['candidates'] = out['lines'] + out['journal']
    seconds = check.get('seconds')
    if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
        out['seconds'] = seconds
    files = []
    for item in check.get('files') or []:
        if not isinstance(item, dict):
            continue
        name = item.get('name')
        files.append({'category': item.get('category') if item.get('category') in CHECK_CATEGORIES else 'other',
                      'name': name if isinstance(name, str) else '-', 'hashed': bool(item.get('hashed')),
                      'candidates': max(_int(item.get('candidates')) or 0, 0)})
    out['files'] = files
    for key in ('reason', 'error'):
        if check.get(key):
            out[key] = str(check[key])
    return out


def needs_review(check):
    """Whether an independent check leaves something for a person: candidates, files it could
    not read to the end, or a part that failed."""
    return bool(check.get('candidates') or check.get('unreadable') or check.get('error'))


def review_items(host, check):
    """Why a host's independent check needs a review (no personal data)."""
    items = []
    if check.get('candidates'):
        parts = []
        if check.get('lines'):
            parts.append('%d line(s) in %d log file(s)' % (check['lines'], len(check.get('files') or [])))
        if check.get('journal'):
            parts.append('%d journal entr%s' % (check['journal'], 'y' if check['journal'] == 1 else 'ies'))
        items.append('%s: the independent check found %s that may still name the subject' % (host, ' and '.join(parts)))
    if check.get('unreadable'):
        items.append('%s: the independent check could not read %d log file(s) to the end' % (host, check['unreadable']))
    if check.get('error'):
        items.append('%s: the independent check failed in part: %s' % (host, check['error']))
    return items


def host_report(erase, proof, check_mode, subject_hmac=None):
    """The report entry of one host from its registered results (dicts or None)."""
    entry = {'outcome': 'ok', 'reasons': [], 'stores': {}, 'manual_steps': [],
             'started': None, 'finished': None, 'proof_found': None}
    if not isinstance(erase, dict) or erase.get('skipped'):
        entry['outcome'] = 'not run'
        entry['reasons'].append('the host did not run the erasure')
        return entry
    if erase.get('unreachable'):
        entry['outcome'] = 'unreachable'
        entry['reasons'].append('the host could not be reached')
        return entry
    entry['started'] = erase.get('started')
    entry['finished'] = erase.get('finished')
    entry['independent_check'] = independent_check(erase)
    if subject_hmac and erase.get('subject_hmac') and erase['subject_hmac'] != subject_hmac:
        entry['reasons'].append('the host computed another subject HMAC')
    stores = erase.get('stores') if isinstance(erase.get('stores'), dict) else {}
    proof_stores = {}
    if isinstance(proof, dict) and isinstance(proof.get('stores'), dict):
        proof_stores = proof['stores']
    for name, res in stores.items():
        if not isinstance(res, dict):
            continue
        summary = store_summary(res)       # the audit record's and the archive's summary too
        item = {
            'available': summary['available'],
            'units': summary['units'],
            'before': summary.get('before', summary['found']) or 0,
            'erased': summary.get('erased', 0),
            'after': summary.get('after'),
            'proof': None,
        }
        if not item['available'] and summary.get('reason'):
            item['reason'] = summary['reason']
        if summary.get('error'):
            item['error'] = summary['error']
            entry['reasons'].append('store %s: %s' % (name, summary['error']))
        elif not check_mode and item['after']:
            entry['reasons'].append('store %s still holds %d %s after the erasure'
                                    % (name, item['after'], item['units']))
        pres = proof_stores.get(name)
        if isinstance(pres, dict):
            proof = store_summary(pres)
            item['proof'] = proof['found']
            if proof.get('error'):
                item['proof_error'] = proof['error']
        for step in summary.get('manual_steps') or []:
            entry['manual_steps'].append({'store': name, 'step': step})
        entry['stores'][name] = item
    if not stores and erase.get('failed'):
        entry['reasons'].append(_failure('erase', erase))
    elif erase.get('failed') and not entry['reasons']:
        entry['reasons'].append(_failure('erase', erase))
    if not check_mode:
        if not isinstance(proof, dict) or proof.get('skipped'):
            entry['reasons'].append('the proof search did not run')
        elif proof.get('unreachable'):
            entry['reasons'].append('the proof search could not reach the host')
        else:
            entry['proof_found'] = _int(proof.get('found')) or 0
            still = sorted(n for n, r in proof_stores.items()
                           if isinstance(r, dict) and (_int(r.get('found')) or 0) > 0)
            if still:
                entry['reasons'].append('the proof search still finds data in store(s): %s' % ', '.join(
                    '%s (%d %s)' % (n, _int(proof_stores[n].get('found')) or 0, proof_stores[n].get('units', ''))
                    for n in still))
            failed = list(proof.get('failed_stores') or [])
            if failed:
                entry['reasons'].append('the proof search failed in store(s): %s' % ', '.join(failed))
            elif proof.get('failed') and not still:
                entry['reasons'].append(_failure('proof search', proof))
    if entry['reasons']:
        entry['outcome'] = 'incomplete'
    return entry


def build_report(request, hosts, task_vars, prefix='__gdpr_', finished=None):
    request = dict(request or {})
    check_mode = bool(request.get('check_mode'))
    out_hosts = {}
    for host in hosts:
        out_hosts[host] = host_report(registered(task_vars, host, prefix + 'erase'),
                                      registered(task_vars, host, prefix + 'proof'),
                                      check_mode, request.get('subject_hmac'))
    reasons = []
    if not out_hosts:
        reasons.append('no host of the inventory matched the request')
    for host, entry in sorted(out_hosts.items()):
        reasons.extend('%s: %s' % (host, r) for r in entry['reasons'])
    manual = [dict(m, host=host) for host, entry in sorted(out_hosts.items()) for m in entry['manual_steps']]
    review = []
    if not check_mode:
        for host, entry in sorted(out_hosts.items()):
            check = entry.get('independent_check')
            if check and needs_review(check):
                review.extend(review_items(host, check))
    if check_mode:
        verdict = 'preview'
    elif reasons:
        verdict = 'incomplete'
    elif review:
        verdict = 'candidates for review'
    elif manual:
        verdict = 'manual steps open'
    else:
        verdict = 'erased everywhere'
    totals = {'hosts': len(out_hosts), 'before': 0, 'erased': 0, 'after': 0, 'proof': 0, 'candidates': 0,
              'by_store': {}}
    for entry in out_hosts.values():
        totals['candidates'] += (entry.get('independent_check') or {}).get('candidates') or 0
        for name, item in entry['stores'].items():
            tot = totals['by_store'].setdefault(name, {'units': item['units'], 'before': 0, 'erased': 0,
                                                       'after': 0, 'proof': 0})
            for key in ('before', 'erased', 'after', 'proof'):
                tot[key] += item.get(key) or 0
                totals[key] += item.get(key) or 0
    return {
        'format': REPORT_FORMAT,
        'version': REPORT_VERSION,
        'request_id': request.get('request_id'),
        'kind': request.get('kind'),
        'subject_hmac': request.get('subject_hmac'),
        'operator': request.get('operator'),
        'check_mode': check_mode,
        'started': request.get('started'),
        'finished': finished or timestamp(),
        'verdict': verdict,
        'reasons': reasons,
        'review': review,
        'manual_steps_open': manual,
        'hosts': out_hosts,
        'totals': totals,
    }


def screen_report(report, screen):
    keep = set(k for k in report if isinstance(k, str))
    keep.update(VERDICTS)
    for value in (report.get('request_id'), report.get('subject_hmac'), report.get('operator'),
                  report.get('kind')):
        if isinstance(value, str):
            keep.add(value)
    for host, entry in (report.get('hosts') or {}).items():
        keep.add(host)
        keep.update(entry)
        keep.update(entry.get('stores') or {})
        for item in (entry.get('stores') or {}).values():
            keep.update(item)
        check = entry.get('independent_check') or {}
        keep.update(check)
        for item in check.get('files') or []:
            keep.update(item)       # the keys; names and hashes are screened
            keep.add(item.get('category'))
    return screen.clean(report, frozenset(k for k in keep if isinstance(k, str)))


def _cell(value):
    if value is None:
        return '-'
    return str(value).replace('|', '\\|').replace('\n', ' ')


def markdown(report):
    lines = [
        '# Erasure report %s' % report.get('request_id'),
        '',
        '| | |',
        '|---|---|',
        '| Verdict | **%s** |' % report['verdict'],
        '| Subject (HMAC-SHA256) | `%s` |' % report.get('subject_hmac'),
        '| Kind | %s |' % report.get('kind'),
        '| Operator | %s |' % _cell(report.get('operator')),
        '| Check mode (preview) | %s |' % ('yes' if report.get('check_mode') else 'no'),
        '| Started (UTC) | %s |' % report.get('started'),
        '| Finished (UTC) | %s |' % report.get('finished'),
        '| Items before / erased / after / found by the proof search | %d / %d / %d / %d |' % (
            report['totals']['before'], report['totals']['erased'], report['totals']['after'],
            report['totals']['proof']),
        '| Candidates for review (independent check) | %d |' % report['totals'].get('candidates', 0),
        '',
    ]
    if report['reasons']:
        lines += ['## Why the erasure is %s' % ('not proven' if report['check_mode'] else 'incomplete'), '']
        lines += ['- %s' % r for r in report['reasons']] + ['']
    lines += ['## Per host and store', '',
              '| Host | Store | Units | Before | Erased | After | Proof search | Note |',
              '|---|---|---|---:|---:|---:|---:|---|']
    for host, entry in sorted(report['hosts'].items()):
        if not entry['stores']:
            lines.append('| %s | - | - | - | - | - | - | %s |' % (host, _cell('; '.join(entry['reasons']))))
        for name, item in sorted(entry['stores'].items()):
            absent = '' if item['available'] else 'not on this host: %s' % item.get('reason', '')
            note = item.get('error') or item.get('proof_error') or absent
            lines.append('| %s | %s | %s | %s | %s | %s | %s | %s |' % (
                host, name, _cell(item['units']), item['before'] if item['available'] else '-',
                item['erased'] if item['available'] else '-', _cell(item['after'] if item['available'] else None),
                _cell(item['proof']), _cell(note)))
    lines += check_markdown(report)
    lines += ['', '## Timestamps per host (UTC)', '', '| Host | Outcome | Erasure started | Erasure finished |',
              '|---|---|---|---|']
    for host, entry in sorted(report['hosts'].items()):
        lines.append('| %s | %s | %s | %s |' % (host, entry['outcome'], _cell(entry['started']),
                                                _cell(entry['finished'])))
    lines += ['', '## Manual steps still open', '']
    if report['manual_steps_open']:
        lines += ['- [ ] %s, %s: %s' % (m['host'], m['store'], m['step']) for m in report['manual_steps_open']]
    else:
        lines.append('None.')
    lines.append('')
    return '\n'.join(lines)


REVIEW_STEPS = [
    'The independent check searched the same log files and the journal again with a broad method of its own '
    '(docs/erasure.md, "The independent check"): other spellings of each identifier (upper case, percent-encoding, '
    'quoted local parts, qmail virtual-domain names, every spelling of an IP address) and look-alikes (another '
    'address that holds the local part as a word, joined by `-` or `.`). A candidate is a line the matcher left '
    'that *may* name the subject; this report '
    'never shows the lines. For every host and file listed:',
    '1. Find the file: a path is shown as it is; a hash is the first 32 hex digits of the SHA-256 of the path '
    '(`find /var/log -type f | while read -r f; do printf \'%s %s\\n\' "$(printf %s "$f" | sha256sum | cut -c1-32)" '
    '"$f"; done | grep HASH`, with the store\'s `extra_paths` too).',
    '2. Search it by hand for every identifier of the subject, case-insensitively and in its parts: '
    '`zgrep -a -i -n -e LOCALPART -e DOMAIN -e IP FILE` (for the journal: '
    '`journalctl -o export | grep -a -i -e LOCALPART -e DOMAIN -e IP`).',
    '3. Decide for each line: the subject\'s (then it must go) or another person\'s or nobody\'s (then it stays); '
    'note the decision with the request id.',
    '4. Lines of the subject: run the request again with what was missing (a login, an IP address in its other form, '
    'the matching options of docs/erasure.md "Matching rules"), or remove them with `mailprivacy.gdpr.log_redact` '
    '(mode `subject`, `paths` limited to the file). A damaged file, or a part of the check that failed, is searched '
    'by hand the same way.',
    '5. Run the erasure again: the verdict is `erased everywhere` once no candidate is left, or stays `candidates '
    'for review` while lines of other people keep resembling the subject (record that decision).',
]


def check_markdown(report):
    """The Markdown section of the independent check (counts and file names or hashes)."""
    hosts = sorted(report['hosts'].items())
    if report.get('check_mode'):
        return ['', '## Independent check', '', 'Not run in a preview.']
    lines = ['', '## Independent check (candidates for review)', '',
             '| Host | Ran | Candidates | Lines in log files | Journal entries | Files not read to the end | Note |',
             '|---|---|---:|---:|---:|---:|---|']
    files = []
    for host, entry in hosts:
        check = entry.get('independent_check')
        if not check:
            continue
        note = check.get('error') or ('' if check.get('ran') else check.get('reason', 'not run'))
        lines.append('| %s | %s | %d | %d | %d | %d | %s |' % (
            host, 'yes' if check.get('ran') else 'no', check.get('candidates', 0), check.get('lines', 0),
            check.get('journal', 0), check.get('unreadable', 0), _cell(note)))
        files += [(host, item) for item in check.get('files') or []]
    if files:
        lines += ['', '| Host | File category | File (path, or SHA-256 of the path: first 32 hex digits) | Candidate lines |',
                  '|---|---|---|---:|']
        for host, item in files:
            name = ('sha256 `%s`' % item['name']) if item.get('hashed') else '`%s`' % item['name']
            lines.append('| %s | %s | %s | %d |' % (host, item['category'], _cell(name), item['candidates']))
    if report.get('review'):
        lines += ['', '### What the reviewer does', '']
        lines += ['- %s' % r for r in report['review']] + ['']
        lines += REVIEW_STEPS
    return lines


def _write_new(path, data):
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_CLOEXEC', 0)
    fd = os.open(path, flags, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def write_report(report_dir, report):
    """Write ``<request id>.erasure.json`` and ``.md`` (a number is added when they exist),
    mode 0600 in a 0700 directory. Returns (json path, markdown path)."""
    directory = private_dir(report_dir)
    base = '%s.erasure%s' % (report.get('request_id') or 'request', '.preview' if report.get('check_mode') else '')
    data_json = (json.dumps(report, indent=2, sort_keys=True) + '\n').encode('utf-8')
    data_md = markdown(report).encode('utf-8')
    for n in range(1, 1000):
        stem = os.path.join(directory, base if n == 1 else '%s.%d' % (base, n))
        if os.path.lexists(stem + '.json') or os.path.lexists(stem + '.md'):
            continue
        _write_new(stem + '.json', data_json)
        _write_new(stem + '.md', data_md)
        return stem + '.json', stem + '.md'
    raise OSError(errno.EEXIST, 'too many reports of this request')


def summary_lines(report):
    lines = ['erasure %s (%s, subject HMAC %s): %s' % (
        report.get('request_id'), report.get('kind'), (report.get('subject_hmac') or '-')[:16], report['verdict'])]
    if report['verdict'] == 'candidates for review':
        lines.append('not an error: every store is erased and proven by the search, but the independent check left '
                     'candidates that a person reviews (the report lists the files and says how)')
    for host, entry in sorted(report['hosts'].items()):
        counts = ', '.join('%s %d->%s' % (n, i['before'], '-' if i['after'] is None else i['after'])
                           for n, i in sorted(entry['stores'].items()) if i['available'])
        check = entry.get('independent_check') or {}
        if check.get('ran'):
            counts += '%sindependent check %d candidate(s)' % ('; ' if counts else '', check.get('candidates', 0))
        lines.append('%s: %s%s%s' % (host, entry['outcome'], ' - ' if counts else '', counts))
    lines += ['reason: %s' % r for r in report['reasons']]
    lines += ['for review: %s' % r for r in report.get('review') or []]
    lines += ['manual step open on %s (%s): %s' % (m['host'], m['store'], m['step'])
              for m in report['manual_steps_open']]
    return lines
