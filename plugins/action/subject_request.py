# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of mailprivacy.gdpr.subject_request: validate a data-subject request on the
controller before any host is touched (documentation: plugins/modules/subject_request.py)."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.mailprivacy.gdpr.plugins.plugin_utils.audit import prepare_request

ARGUMENT_SPEC = dict(
    subject=dict(type='raw', no_log=True),
    domain=dict(type='raw', no_log=True),
    plus_separator=dict(type='str', default='+'),
    local_part_case=dict(type='str', default='insensitive', choices=['insensitive', 'sensitive']),
    hmac_key=dict(type='raw', no_log=True),
    request_id=dict(type='str'),
    operator=dict(type='str'),
    action=dict(type='str', default='find', choices=['find', 'export', 'erase']),
    expect_kind=dict(type='str', default='any', choices=['any', 'user', 'domain']),
    stores=dict(type='list', elements='str', default=[]),
    store_options=dict(type='raw', default={}),
    audit_dir=dict(type='str', default='audit'),
    export_dir=dict(type='str', default='exports'),
    force=dict(type='bool', default=False),
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        params = dict(args)
        params['check_mode'] = bool(self._task.check_mode)
        request, problems = prepare_request(params, task_vars or {})
        result['request'] = request
        result['changed'] = False
        if problems:
            result['failed'] = True
            result['msg'] = 'the request was refused before any host was touched: ' + '; '.join(problems)
            return result
        result['msg'] = 'request %s (%s, subject HMAC %s) is valid' % (
            request['request_id'], request['kind'], request['subject_hmac'][:16])
        return result
