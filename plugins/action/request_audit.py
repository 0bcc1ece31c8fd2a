# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of mailprivacy.gdpr.request_audit: write the audit record of a data-subject
request on the controller (documentation: plugins/modules/request_audit.py)."""

from __future__ import annotations

import os

from ansible.plugins.action import ActionBase

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import SubjectError
from ansible_collections.mailprivacy.gdpr.plugins.plugin_utils.audit import (
    RequestError,
    Screen,
    build_record,
    build_subject,
    host_entry,
    registered,
    report_lines,
    screen_record,
    subject_input,
    write_record,
)

ARGUMENT_SPEC = dict(
    request=dict(type='raw', default={}),
    subject=dict(type='raw', no_log=True),
    domain=dict(type='raw', no_log=True),
    plus_separator=dict(type='str', default='+'),
    local_part_case=dict(type='str', default='insensitive', choices=['insensitive', 'sensitive']),
    hosts=dict(type='list', elements='str', default=[]),
    steps=dict(type='list', elements='str', default=[]),
    result_prefix=dict(type='str', default='__gdpr_'),
    error=dict(type='raw'),
    rejected=dict(type='bool', default=False),
    archive=dict(type='raw'),
    audit_dir=dict(type='str'),
    hmac_key=dict(type='str', no_log=True),
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        request = args['request'] if isinstance(args['request'], dict) else {}

        raw = {}
        subject = None
        try:
            raw = subject_input(args['subject'], args['domain'])
            subject = build_subject(raw, args['plus_separator'], args['local_part_case'])
        except (RequestError, SubjectError):
            pass        # a rejected request: the raw values still screen the record
        screen = Screen(subject, raw)

        hosts = {}
        steps = args['steps'] or []
        if steps:
            for host in args['hosts']:
                outcomes = [(step, registered(task_vars, host, args['result_prefix'] + step)) for step in steps]
                hosts[host] = host_entry(outcomes, request.get('subject_hmac'))

        error = args['error']
        if error is not None and not isinstance(error, str):
            error = str(error)
        archive = args['archive'] if isinstance(args['archive'], dict) and args['archive'].get('path') else None
        if archive:
            archive = dict((k, archive[k]) for k in ('path', 'sha256', 'size', 'files', 'found', 'hosts')
                           if k in archive)
        record = screen_record(build_record(request, hosts, error=error or None, archive=archive,
                                            rejected=args['rejected']), screen)

        audit_dir = args['audit_dir'] or request.get('audit_dir') or 'audit'
        try:
            journal, path = write_record(os.path.abspath(os.path.expanduser(audit_dir)), record,
                                         key=args['hmac_key'])
        except (OSError, RequestError) as err:
            result.update(failed=True, msg=str(err) if isinstance(err, RequestError) else
                          'the audit record cannot be written (%s, errno %s)'
                          % (type(err).__name__, getattr(err, 'errno', None)))
            return result
        result.update(
            changed=True,
            outcome=record['outcome'],
            record=record,
            journal=journal,
            record_path=path,
            chain_anchor='%d:%s' % (record['chain']['seq'], record['chain'].get('mac') or record['chain']['sha256']),
            authenticated='mac' in record['chain'],
            failed_hosts=sorted(h for h, e in record['hosts'].items() if e.get('outcome') != 'ok'),
            report=report_lines(record),
            msg='audit record written: %s' % path,
        )
        return result
