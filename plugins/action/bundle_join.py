# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of mailprivacy.gdpr.bundle_join: verify the bundles fetched from every host
and join them into one archive per subject (documentation: plugins/modules/bundle_join.py)."""

from __future__ import annotations

import os

from ansible.plugins.action import ActionBase

from ansible_collections.mailprivacy.gdpr.plugins.plugin_utils.audit import RequestError, check_request_id, registered
from ansible_collections.mailprivacy.gdpr.plugins.plugin_utils.request_archive import JoinError, discard, join

ARGUMENT_SPEC = dict(
    request=dict(type='dict', required=True),
    hosts=dict(type='list', elements='str', required=True),
    export_var=dict(type='str', default='__gdpr_export'),
    fetch_var=dict(type='str', default='__gdpr_fetch'),
    export_dir=dict(type='str'),
    staging_dir=dict(type='str'),
    force=dict(type='bool', default=False),
    max_bundle_size=dict(type='bytes', default='20G'),
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        request = args['request']
        try:
            request_id = check_request_id(request.get('request_id'))
        except RequestError as err:
            result.update(failed=True, msg=str(err))
            return result
        subject_hmac = request.get('subject_hmac')
        export_dir = args['export_dir'] or request.get('export_dir')
        staging = args['staging_dir'] or request.get('staging_dir')
        if not subject_hmac or not export_dir or not staging:
            result.update(failed=True, msg='request must hold subject_hmac, export_dir and staging_dir '
                                           '(the gdpr_request fact of subject_request)')
            return result

        fetched = {}
        problems = []
        for host in args['hosts']:
            export = registered(task_vars, host, args['export_var'])
            fetch = registered(task_vars, host, args['fetch_var'])
            if not export or export.get('failed') or export.get('unreachable') or not export.get('complete'):
                problems.append('%s: the export did not complete' % host)
                continue
            if not fetch or fetch.get('failed') or fetch.get('skipped') or not fetch.get('dest'):
                problems.append('%s: the bundle was not fetched' % host)
                continue
            fetched[host] = (fetch['dest'], export.get('manifest_sha256'))
        if problems:
            discard(os.path.abspath(staging))
            result.update(failed=True, msg='nothing was joined: ' + '; '.join(problems))
            return result
        try:
            out = join(request_id, subject_hmac, request.get('kind'), fetched,
                       os.path.abspath(export_dir), os.path.abspath(staging), force=args['force'],
                       max_bundle_size=args['max_bundle_size'])
        except (JoinError, OSError) as err:
            msg = str(err) if isinstance(err, JoinError) else 'cannot write the archive (%s, errno %s)' % (
                type(err).__name__, getattr(err, 'errno', None))
            result.update(failed=True, msg='the bundles were not joined: %s' % msg)
            return result
        result.update(changed=True, archive=out,
                      msg='%d host bundle(s) verified and joined into %s' % (len(out['hosts']), out['path']))
        return result
