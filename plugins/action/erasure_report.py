# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of mailprivacy.gdpr.erasure_report: write the erasure report of a request on
the controller (documentation: plugins/modules/erasure_report.py)."""

from __future__ import annotations

import os

from ansible.plugins.action import ActionBase

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import SubjectError
from ansible_collections.mailprivacy.gdpr.plugins.plugin_utils.audit import (
    RequestError,
    Screen,
    build_subject,
    subject_input,
)
from ansible_collections.mailprivacy.gdpr.plugins.plugin_utils.erasure_report import (
    build_report,
    screen_report,
    summary_lines,
    write_report,
)

ARGUMENT_SPEC = dict(
    request=dict(type='raw', default={}),
    subject=dict(type='raw', no_log=True),
    domain=dict(type='raw', no_log=True),
    plus_separator=dict(type='str', default='+'),
    local_part_case=dict(type='str', default='insensitive', choices=['insensitive', 'sensitive']),
    hmac_key=dict(type='str', no_log=True),
    hosts=dict(type='list', elements='str', default=[]),
    result_prefix=dict(type='str', default='__gdpr_'),
    report_dir=dict(type='str', default='reports/erasure'),
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        request = args['request'] if isinstance(args['request'], dict) else {}
        raw = {}
        subject = None
        try:
            raw = subject_input(args['subject'], args['domain'])
            subject = build_subject(raw, args['plus_separator'], args['local_part_case'])
        except (RequestError, SubjectError):
            pass
        if subject is not None and args['hmac_key'] and request.get('subject_hmac'):
            # the subject screens the report: it must be the request's
            try:
                same = subject.hmac(args['hmac_key']) == request['subject_hmac']
            except SubjectError:
                same = False
            if not same:
                result.update(failed=True, msg="the subject given to the report is not the request's (its HMAC with "
                                               'hmac_key is not request.subject_hmac); no report was written')
                return result
        report = screen_report(build_report(request, args['hosts'], task_vars or {}, args['result_prefix']),
                               Screen(subject, raw))
        try:
            json_path, md_path = write_report(os.path.abspath(os.path.expanduser(args['report_dir'])), report)
        except OSError as err:
            result.update(failed=True, msg='the erasure report cannot be written (%s, errno %s)'
                          % (type(err).__name__, getattr(err, 'errno', None)))
            return result
        result.update(changed=True, report=report, verdict=report['verdict'], json_path=json_path,
                      markdown_path=md_path, summary=summary_lines(report),
                      msg='erasure report written: %s' % md_path)
        return result
