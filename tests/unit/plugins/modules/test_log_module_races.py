# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""log_redact and log_audit as root over files their owners swap (issue 12): a FIFO put in the
place of a log file never blocks them (it is refused and counted), a file replaced after it was
found is refused, and the result names no file."""

from __future__ import annotations

import importlib.util
import json
import os
import stat
import time

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.mailprivacy.gdpr.plugins.modules import log_audit, log_redact
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_logs import LogStore

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    'log_races', os.path.join(HERE, '..', 'module_utils', 'log_races.py'))
races = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(races)

KEY = 'test-hmac-key-0123456789'
LINES = (b'Nov 23 10:00:01 mx1 postfix/smtp[1]: to=<ann@example.com>, status=sent\n'
         b'Nov 23 10:00:02 mx1 postfix/smtp[1]: to=<bob@example.org>, status=sent\n')


def redact_params(root, **over):
    out = {'mode': 'subject', 'action': 'remove', 'mask_token': 'hmac', 'paths': [os.path.join(root, 'mail.log*')],
           'extra_paths': [], 'exclude': [], 'debug_patterns': [], 'addresses': ['ann@example.com'],
           'logins': [], 'ips': [], 'domain': None, 'plus_separator': '+', 'hmac_key': KEY, 'request_id': None}
    out.update(over)
    return out


def audit_params(root, **over):
    out = {'days': 7, 'since': None, 'paths': [os.path.join(root, 'mail.log*')], 'extra_paths': [], 'exclude': [],
           'journal': False, 'journal_matches': [], 'journalctl': 'journalctl', 'patterns': [], 'accept': [],
           'ignore_networks': [], 'ignore_own_addresses': False}
    out.update(over)
    return out


def tree(tmp_path):
    root = tmp_path / 'log'
    root.mkdir()
    for name in ('mail.log', 'mail.log.1'):
        (root / name).write_bytes(LINES)
    return str(root)


def test_log_redact_fifo_swapped_in_during_discovery(tmp_path, monkeypatch, capsys):
    """Through main(): the module returns promptly and fails naming the count, not the file."""
    root = tree(tmp_path)
    target = os.path.join(root, 'mail.log.1')
    races.fifo_after_first_lstat(monkeypatch, target)
    args = dict(redact_params(root), _ansible_check_mode=False, _ansible_diff=False)

    def call():
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                log_redact.main()
        return json.loads(capsys.readouterr().out)

    result = races.run_bounded(call, [target])
    monkeypatch.undo()
    assert stat.S_ISFIFO(os.lstat(target).st_mode)
    assert result['failed'] and result['refused'] == {'files replaced during the scan skipped': 1}
    assert result['lines_changed'] == 1 and result['detail']['live']['lines'] == 1
    assert root not in json.dumps(dict((k, v) for k, v in result.items() if k != 'invocation'))


def test_log_redact_file_swapped_after_discovery_is_refused(tmp_path, monkeypatch):
    root = tree(tmp_path)
    target = os.path.join(root, 'mail.log.1')
    races.swap_after(monkeypatch, LogStore, 'files', lambda: races.replace_by_copy(target, LINES * 2))
    result, failure = races.run_bounded(lambda: log_redact.run(redact_params(root), False))
    assert result['refused'] == {'the file was replaced since it was found; run again': 1}
    assert failure and root not in failure
    with open(target, 'rb') as handle:
        assert handle.read() == LINES * 2


def test_log_redact_fifo_swapped_in_after_discovery(tmp_path, monkeypatch):
    root = tree(tmp_path)
    target = os.path.join(root, 'mail.log.1')
    races.swap_after(monkeypatch, LogStore, 'files', lambda: races.replace_by_fifo(target))
    result, _failure = races.run_bounded(lambda: log_redact.run(redact_params(root), True), [target])
    assert result['refused'] == {'refusing a file that is not a regular file': 1}


def test_log_audit_fifo_swapped_in_during_discovery(tmp_path, monkeypatch):
    root = tree(tmp_path)
    target = os.path.join(root, 'mail.log.1')
    races.fifo_after_first_lstat(monkeypatch, target)
    res = races.run_bounded(lambda: log_audit.audit(audit_params(root), now=time.time()), [target])
    monkeypatch.undo()
    assert res['problems'] == {'files replaced during the scan skipped': 1}
    assert res['files_scanned'] == 1


def test_log_audit_fifo_swapped_in_after_discovery(tmp_path, monkeypatch):
    root = tree(tmp_path)
    target = os.path.join(root, 'mail.log.1')
    races.swap_after(monkeypatch, LogStore, 'files', lambda: races.replace_by_fifo(target))
    res = races.run_bounded(lambda: log_audit.audit(audit_params(root), now=time.time()), [target])
    assert res['problems'] == {'files that are not regular files refused': 1}
    assert res['files_scanned'] == 1


def test_log_audit_counts_a_fifo_in_its_paths(tmp_path):
    root = tree(tmp_path)
    os.mkfifo(os.path.join(root, 'mail.log.2'))
    res = races.run_bounded(lambda: log_audit.audit(audit_params(root), now=time.time()),
                            [os.path.join(root, 'mail.log.2')])
    assert res['problems'] == {'files that are not regular files skipped': 1} and res['files_scanned'] == 2
