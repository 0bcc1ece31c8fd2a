# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""KLMS backup store: Kaspersky Security 8 for Linux Mail Server keeps copies of scanned
messages in its Backup (services.md 5.2). No documented command searches or deletes Backup
copies per sender or recipient, so this store never counts or touches anything: when KLMS is
installed it reports itself available and returns a manual step for the operator, with the
exact filter to apply in the KLMS web console (Backup section).

The manual step never contains an identifier: it names the request id and the subject HMAC
(store options ``request_id`` and ``subject_hmac``, filled in by the caller) and says how many
addresses and IP addresses to enter; the operator takes the values from the request itself.
"""

from __future__ import annotations

import os
import re

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import (
    Option,
    Store,
    StoreError,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_maildir import (
    BundleWriter,
)

FILTER_SENDER = 'Sender email address'
FILTER_RECIPIENT = 'Recipient email address'
FILTER_SENDER_IP = 'Sender IP address'

_TOKEN = re.compile(r'^[A-Za-z0-9._:-]{0,128}$')


class KlmsBackupStore(Store):
    """KLMS Backup: available when KLMS is installed; every operation is a manual step."""

    name = 'klms_backup'
    units = 'messages'
    OPTIONS = {
        'klms_control': Option('/opt/kaspersky/klms/bin/klms-control', 'str',
                               'Path of C(klms-control): KLMS is installed when it exists (or one of C(klms_dirs)).'),
        'klms_dirs': Option(['/etc/opt/kaspersky/klms', '/var/opt/kaspersky/klms'], 'list',
                            "KLMS's directories: KLMS is installed when one of them exists.", elements='str'),
        'request_id': Option('', 'str', 'The request id that the manual step names (letters, digits, C(.), C(_), '
                             'C(:), C(-)); filled in from the request.'),
        'subject_hmac': Option('', 'str', "The subject's HMAC (hex) that the manual step names; filled in from the "
                               'request.'),
    }

    def __init__(self, options=None, runner=None):
        super(KlmsBackupStore, self).__init__(options, runner)
        for key in ('request_id', 'subject_hmac'):
            if not _TOKEN.match(self.options[key]):
                raise StoreError('klms_backup: option %s may only hold letters, digits and . _ : -'
                                 % key)
        if self.options['subject_hmac'] and not re.match(r'^[0-9a-f]{16,128}$',
                                                         self.options['subject_hmac']):
            raise StoreError('klms_backup: option subject_hmac must be a hex HMAC')

    def available(self):
        tool = self.options['klms_control']
        if tool and os.path.isfile(tool):
            return True, ''
        if any(os.path.isdir(d) for d in self.options['klms_dirs']):
            return True, ''
        return False, 'KLMS is not installed'

    def _who(self):
        rid = self.options['request_id'] or '(see the request record)'
        hmac = self.options['subject_hmac'] or '(see the request record)'
        return 'the subject of request %s, HMAC %s' % (rid, hmac)

    def _filter(self, subject):
        if subject.kind == 'domain':
            return ("set the filter field '%s' to the domain of the customer account of %s "
                    "(match: contains '@' followed by the domain), search, then set '%s' to the same "
                    "value and search again" % (FILTER_RECIPIENT, self._who(), FILTER_SENDER))
        n_addr = len(subject.addresses)
        n_ip = len(getattr(subject, 'ips', ()) or ())
        text = ("for each of the %d address(es) of %s: set the filter field '%s' to the address "
                "and search, then clear it, set '%s' to the address and search again"
                % (n_addr, self._who(), FILTER_SENDER, FILTER_RECIPIENT))
        if n_ip:
            text += ("; for each of the %d IP address(es) of the subject set '%s' and search"
                     % (n_ip, FILTER_SENDER_IP))
        return text

    def _step(self, subject, action):
        return ('KLMS Backup (web console, section Backup; no command line exists for this): %s; %s.'
                % (self._filter(subject), action))

    def _result(self, subject, action, **kwargs):
        reason = 'KLMS Backup cannot be searched from the command line; see manual_steps'
        return self.result(reason=reason, detail={'manual': 1},
                           manual_steps=[self._step(subject, action)], **kwargs)

    def locate(self, subject):
        return self._result(subject, 'note how many message copies are listed')

    def export(self, subject, bundle_dir):
        step = self._step(subject, "select the copies found, use 'Save to file' for each and add "
                                   "the files to the bundle under klms_backup/")
        writer = BundleWriter(self, bundle_dir)
        writer.write_json(['manual-steps.json'], {'store': self.name, 'manual_steps': [step]},
                          kind='manual', count=0)
        res = self._result(subject, 'x', files=writer.files)
        res['manual_steps'] = [step]
        return res

    def erase(self, subject, check_mode):
        if check_mode:
            action = ("in the real run: select the copies found and use 'Delete'; then repeat the "
                      "search and confirm that nothing is listed")
        else:
            action = ("select the copies found and use 'Delete'; then repeat the search and confirm "
                      "that nothing is listed")
        return self._result(subject, action)
