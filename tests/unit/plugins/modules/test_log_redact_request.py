# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""log_redact in the request pipeline (issue 13): it takes every parameter of the action group
mailprivacy.gdpr.subject (a play's module_defaults set them once for all four modules), the
request's store_options choose its log files as they do for the erasure, and a request whose
stores leave out the logs reads and changes nothing. Through AnsibleModule, on real files."""

from __future__ import annotations

import os

from test_log_redact_module import KEY, SUBJECT_LINES, assert_clean, make_tree, read, run, tree_hash


def group_args(root, **kw):
    """The parameters a play's module_defaults give every module of the group (as
    playbooks/vars/subject.yml sets them), for a request on the test tree."""
    args = {'addresses': ['ann@example.com'], 'logins': ['annlogin'], 'ips': ['192.0.2.77'],
            'plus_separator': '+', 'local_part_case': 'insensitive', 'stores': [],
            'store_options': {'logs': {'paths': [os.path.join(root, 'mail.log*'), os.path.join(root, 'qmail', '**')]}},
            'hmac_key': KEY, 'request_id': 'req-13'}
    args.update(kw)
    return args


def test_takes_the_groups_parameters_and_the_logs_store_options(tmp_path, capsys):
    root = str(tmp_path)
    make_tree(root)
    preview, raw = run(capsys, group_args(root), check_mode=True)
    assert_clean(raw)
    assert not preview.get('failed'), preview.get('msg')
    # every file of the tree is found through store_options.logs.paths: 1+2+3+1+1 copies of the lines
    # in mail.log*, 2 in the multilog directory
    assert preview['lines_changed'] == len(SUBJECT_LINES) * 10
    assert sum(d['files'] for d in preview['detail'].values()) == 7
    result, raw = run(capsys, group_args(root))
    assert_clean(raw)
    assert result['changed'] is True and result['lines_changed'] == preview['lines_changed']
    assert not any(line in read(os.path.join(root, 'mail.log')) for line in SUBJECT_LINES)


def test_own_paths_replace_and_own_lists_extend_the_store_options(tmp_path, capsys):
    root = str(tmp_path)
    make_tree(root)
    options = {'logs': {'paths': [os.path.join(root, 'qmail', '**')], 'exclude': [os.path.join(root, '*.xz')]}}
    result, _raw = run(capsys, group_args(root, store_options=options, paths=[os.path.join(root, 'mail.log*')],
                                          exclude=[os.path.join(root, '*.bz2')]), check_mode=True)
    # mail.log, .1, .2.gz: the store's qmail path was replaced, .xz (store) and .bz2 (module) excluded
    assert sum(d['files'] for d in result['detail'].values()) == 3
    assert result['lines_changed'] == len(SUBJECT_LINES) * 6
    result, _raw = run(capsys, group_args(root, store_options=options, extra_paths=[os.path.join(root, 'mail.log.1')]),
                       check_mode=True)
    assert sum(d['files'] for d in result['detail'].values()) == 3        # qmail/current, qmail/@...s, mail.log.1


def test_a_request_without_the_logs_store_reads_and_changes_nothing(tmp_path, capsys):
    root = str(tmp_path)
    make_tree(root)
    before = tree_hash(root)
    result, raw = run(capsys, group_args(root, stores=['maildir']))
    assert_clean(raw)
    assert result['changed'] is False and result['lines_changed'] == 0 and result['files_changed'] == 0
    assert 'do not include logs' in result['msg'] and len(result['subject_hmac']) == 64
    assert tree_hash(root) == before
    result, raw = run(capsys, group_args(root, stores=['nosuch']))
    assert result['failed'] is True and 'unknown store' in result['msg']
    result, raw = run(capsys, group_args(root, store_options={'logs': 'x'}))
    assert result['failed'] is True and result['msg'] == 'store_options.logs must be a dictionary'
    assert tree_hash(root) == before
