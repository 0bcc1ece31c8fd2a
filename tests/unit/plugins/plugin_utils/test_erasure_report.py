# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The erasure report (plugin_utils/erasure_report.py) with the independent check: per host its
candidates (counts and file names or hashes), the verdict 'candidates for review' when a host
has candidates (or files it could not read, or a part that failed), what a reviewer does, the
summary lines; no identifier anywhere."""

from __future__ import annotations

import json
import os
import stat

from ansible_collections.mailprivacy.gdpr.plugins.plugin_utils.audit import Screen, build_subject, subject_input
from ansible_collections.mailprivacy.gdpr.plugins.plugin_utils.erasure_report import (
    VERDICTS,
    build_report,
    markdown,
    screen_report,
    summary_lines,
    write_report,
)

HMAC = 'ab' * 32
REQUEST = {'request_id': 'del-0042', 'kind': 'user', 'subject_hmac': HMAC, 'operator': 'op', 'check_mode': False,
           'started': '2026-01-01T00:00:00Z'}
RAW = {'addresses': ['zoequill@example.org'], 'logins': ['zquill7'], 'ips': ['192.0.2.77']}
FORBIDDEN = ['zoequill', 'zquill7', '192.0.2.77']
HASH = '9f86d081884c7d659a2feaa0c55ad015'


def check(candidates=0, journal=0, files=None, ran=True, **extra):
    out = {'ran': ran, 'candidates': candidates + journal, 'lines': candidates, 'journal': journal,
           'files': files if files is not None else
           ([{'category': 'compressed', 'name': '/var/log/mail.log.2.gz', 'hashed': False, 'candidates': 1},
             {'category': 'live', 'name': HASH, 'hashed': True, 'candidates': candidates - 1}] if candidates else []),
           'unreadable': 0, 'seconds': 0.25}
    out.update(extra)
    return out


def erase_result(independent=None, manual=None, after=0, failed=False):
    res = {'changed': True, 'subject_hmac': HMAC, 'started': '2026-01-01T00:00:01Z', 'finished': '2026-01-01T00:00:09Z',
           'stores': {'logs': {'available': True, 'units': 'lines', 'before': 5, 'found': 5, 'erased': 5,
                               'after': after, 'manual_steps': manual or []}}}
    if independent is not None:
        res['independent_check'] = independent
    if failed:
        res['failed'] = True
        res['msg'] = 'data of the subject remains'
    return res


def proof_result(found=0):
    return {'changed': False, 'found': found, 'stores': {'logs': {'found': found, 'units': 'lines'}},
            'failed_stores': []}


def report_of(hosts, request=None):
    task_vars = {'hostvars': dict((h, {'__gdpr_erase': e, '__gdpr_proof': p}) for h, (e, p) in hosts.items())}
    return build_report(dict(REQUEST, **(request or {})), sorted(hosts), task_vars, finished='2026-01-01T00:01:00Z')


def screened(report):
    return screen_report(report, Screen(build_subject(subject_input(RAW)), RAW))


def test_candidates_make_the_verdict_candidates_for_review_with_counts_and_names():
    report = report_of({'mx1': (erase_result(check(3, journal=2)), proof_result()),
                        'mx2': (erase_result(check()), proof_result())})
    assert 'candidates for review' in VERDICTS
    assert report['verdict'] == 'candidates for review' and report['reasons'] == []
    assert report['review'] == ['mx1: the independent check found 3 line(s) in 2 log file(s) and 2 journal entries '
                                'that may still name the subject']
    mx1 = report['hosts']['mx1']
    assert mx1['outcome'] == 'ok' and mx1['proof_found'] == 0
    assert mx1['independent_check'] == {
        'ran': True, 'candidates': 5, 'lines': 3, 'journal': 2, 'unreadable': 0, 'seconds': 0.25,
        'files': [{'category': 'compressed', 'name': '/var/log/mail.log.2.gz', 'hashed': False, 'candidates': 1},
                  {'category': 'live', 'name': HASH, 'hashed': True, 'candidates': 2}]}
    assert report['hosts']['mx2']['independent_check']['candidates'] == 0
    assert report['totals']['candidates'] == 5
    text = markdown(report)
    assert '| Verdict | **candidates for review** |' in text
    assert '| mx1 | yes | 5 | 3 | 2 | 0 |  |' in text and '| mx2 | yes | 0 | 0 | 0 | 0 |  |' in text
    assert '| mx1 | compressed | `/var/log/mail.log.2.gz` | 1 |' in text
    assert '| mx1 | live | sha256 `%s` | 2 |' % HASH in text
    assert '### What the reviewer does' in text and 'sha256sum | cut -c1-32' in text and 'zgrep -a -i' in text
    assert 'mailprivacy.gdpr.log_redact' in text
    lines = summary_lines(report)
    assert lines[0].endswith(': candidates for review') and lines[1].startswith('not an error')
    assert 'mx1: ok - logs 5->0; independent check 5 candidate(s)' in lines
    assert 'for review: ' + report['review'][0] in lines


def test_no_candidate_is_erased_everywhere_and_manual_steps_stay_below_review():
    report = report_of({'mx1': (erase_result(check()), proof_result())})
    assert report['verdict'] == 'erased everywhere' and report['review'] == []
    assert '### What the reviewer does' not in markdown(report)
    manual = report_of({'mx1': (erase_result(check(), manual=['klms: apply the filter']), proof_result())})
    assert manual['verdict'] == 'manual steps open'
    both = report_of({'mx1': (erase_result(check(2), manual=['klms: apply the filter']), proof_result())})
    assert both['verdict'] == 'candidates for review' and both['manual_steps_open']


def test_incomplete_stays_incomplete_and_a_preview_is_a_preview():
    report = report_of({'mx1': (erase_result(check(2), after=1, failed=True), proof_result(1))})
    assert report['verdict'] == 'incomplete' and report['review']      # the candidates are still listed
    preview = report_of({'mx1': (erase_result({'ran': False, 'reason': 'check mode (nothing was erased)'}), None)},
                        {'check_mode': True})
    assert preview['verdict'] == 'preview' and preview['review'] == []
    assert '## Independent check\n\nNot run in a preview.' in markdown(preview)


def test_unreadable_files_and_a_failed_part_need_review_too():
    report = report_of({'mx1': (erase_result(check(unreadable=2)), proof_result()),
                        'mx2': (erase_result(check(error='journal: journalctl failed (exit 1)')), proof_result())})
    assert report['verdict'] == 'candidates for review'
    assert report['review'] == ['mx1: the independent check could not read 2 log file(s) to the end',
                                'mx2: the independent check failed in part: journal: journalctl failed (exit 1)']
    assert '| mx2 | yes | 0 | 0 | 0 | 0 | journal: journalctl failed (exit 1) |' in markdown(report)


def test_a_check_that_did_not_run_is_shown_and_does_not_hold_the_verdict():
    report = report_of({'mx1': (erase_result(check(ran=False, reason='turned off (independent_check=false)')),
                                proof_result()),
                        'mx2': (erase_result(), proof_result())})          # a module without the check
    assert report['verdict'] == 'erased everywhere'
    text = markdown(report)
    assert '| mx1 | no | 0 | 0 | 0 | 0 | turned off (independent_check=false) |' in text
    assert '| mx2 | no | 0 | 0 | 0 | 0 | the host returned no independent check |' in text


def test_hostile_host_results_are_reduced_to_counts_and_the_report_is_screened(tmp_path):
    files = [{'category': 'live', 'name': '/var/log/qmail/zoequill/current', 'hashed': False, 'candidates': 1,
              'line': 'to=<zoequill@example.org>'},
             {'category': '<script>', 'name': 7, 'candidates': 'x'}, 'junk']
    hostile = check(1, files=files, reason='zquill7 did it', error='192.0.2.77 failed', lines='many')
    report = screened(report_of({'mx1': (erase_result(hostile), proof_result())}))
    entry = report['hosts']['mx1']['independent_check']
    assert entry['files'] == [
        {'category': 'live', 'name': '[withheld: matched the subject]', 'hashed': False, 'candidates': 1},
        {'category': 'other', 'name': '-', 'hashed': False, 'candidates': 0}]
    assert entry['lines'] == 0 and entry['candidates'] == 0 and entry['error'] == '[withheld: matched the subject]'
    # an error alone still needs review
    assert report['verdict'] == 'candidates for review'
    json_path, md_path = write_report(str(tmp_path / 'reports'), report)
    for path in (json_path, md_path):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        data = open(path, encoding='utf-8').read().lower()
        assert not [v for v in FORBIDDEN if v in data], path
    assert json.loads(open(json_path, encoding='utf-8').read())['verdict'] == 'candidates for review'
