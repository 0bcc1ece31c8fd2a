# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of mailprivacy.gdpr.audit_verify: check the HMAC chain of the audit journal
on the controller (documentation: plugins/modules/audit_verify.py)."""

from __future__ import annotations

import os
import stat

from ansible.plugins.action import ActionBase

from ansible_collections.mailprivacy.gdpr.plugins.plugin_utils import audit_chain
from ansible_collections.mailprivacy.gdpr.plugins.plugin_utils.audit import JOURNAL

ARGUMENT_SPEC = dict(
    audit_dir=dict(type='str', default='audit'),
    hmac_key=dict(type='str', no_log=True),
    previous_hmac_keys=dict(type='list', elements='str', default=[], no_log=True),
    expected_head=dict(type='str'),
    check_files=dict(type='bool', default=True),
)


def summary(report):
    """PII-free lines for the play output: counts, record numbers, sequence numbers, MACs."""
    lines = ['records: %d (chained %d, legacy %d, unauthenticated %d); per-request files checked: %d'
             % (report['records'], report['chained'], report['legacy'], report['unauthenticated'],
                report['files_checked'])]
    if report['unauthenticated']:
        lines.append('unauthenticated records (written without a usable key): %s'
                     % ', '.join(str(n) for n in report['unauthenticated_records']))
    for problem in report['problems']:
        lines.append('problem: %s' % audit_chain.describe(problem))
    if report['problem_count'] > len(report['problems']):
        lines.append('... %d problem(s) in all' % report['problem_count'])
    if report['head']:
        lines.append('head: record %d, seq %d, mac %s (keep "%s" outside the audit directory and pass it as '
                     'expected_head next time)' % (report['head']['record'], report['head']['seq'],
                                                   report['head']['mac'], report['head_anchor']))
    else:
        lines.append('head: no chained record yet')
    return lines


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        directory = os.path.abspath(os.path.expanduser(args['audit_dir']))
        journal = os.path.join(directory, JOURNAL)
        try:
            st = os.lstat(directory)
            if not stat.S_ISDIR(st.st_mode):
                raise audit_chain.ChainError('the audit directory %s is not a directory' % directory)
            if not os.path.lexists(journal):
                raise audit_chain.ChainError('there is no audit journal (%s) in %s' % (JOURNAL, directory))
            keys = [args['hmac_key']] + list(args['previous_hmac_keys'] or [])
            if not args['hmac_key']:
                raise audit_chain.ChainError('hmac_key is not set: pass the request HMAC key (gdpr_hmac_key, from '
                                             'the vault) the records were written with')
            report = audit_chain.verify(journal, keys, expected_head=args['expected_head'],
                                        files_dir=directory if args['check_files'] else None)
        except audit_chain.ChainError as err:
            result.update(failed=True, msg=str(err))
            return result
        except OSError as err:
            result.update(failed=True, msg='the audit journal cannot be read (%s, errno %s)'
                          % (type(err).__name__, getattr(err, 'errno', None)))
            return result
        result.update(report)
        result['journal'] = journal
        result['summary'] = summary(report)
        result['changed'] = False
        if report['ok']:
            result['msg'] = 'audit journal intact: %d record(s), head %s' % (report['records'], report['head_anchor'])
        else:
            result['failed'] = True
            result['msg'] = 'audit journal check failed at %s (%d problem(s) in all)' % (
                audit_chain.describe(report['first_problem']), report['problem_count'])
        return result
