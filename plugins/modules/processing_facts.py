#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: processing_facts
short_description: Records of processing (GDPR Art. 30) of a mail host, read from its live configuration
version_added: 0.4.0
description:
  - Collects from one host what personal data it stores, where, for how long and who can read it, one record
    per data store, in the shape of the vendors' data tables (data type, location, retention, protection).
  - "Retention is read from the live configuration: journald (C(MaxRetentionSec), C(SystemMaxUse), C(Storage)
    with its drop-ins, as systemd reads them: C(systemd-analyze cat-config) when O(root) is C(/), else the files
    under O(root); the journal erasure reads the same settings the same way), rsyslog's file rules and
    logrotate (C(rotate), C(daily)/C(weekly)/C(monthly), C(maxage)), Dovecot (C(doveconf -n): C(mail_location),
    C(autoexpunge), file logs), Courier (C(IMAP_EMPTYTRASH), C(queuetime), the track directory's tmpfiles.d
    age), qmail (C(queuelifetime), multilog C(n)/C(s) and an age-based cleanup unit), Horde (C(conf.php),
    C(conf.d/), C(conf.local.php): log, session lifetime, SQL database; IMP sent-mail log; read as PHP ends up
    with them, without running PHP) and KLMS (Backup, traces, dumps, temporary files) when present."
  - Each service's part is the record-of-processing collector of its service descriptor
    (C(module_utils/service_<name>.py), listed in C(module_utils/service_catalog.py)); a service added to the
    catalog is described without a change to this module.
  - Protection is the owner, group and mode of the file or directory, and who can read it.
  - What is not installed is skipped (listed in RV(ansible_facts.mailprivacy_processing.services) as absent).
  - Read-only; it behaves the same in check mode. It never reads mail, log lines or account entries, only
    configuration and file metadata.
author:
  - mailprivacy.gdpr contributors (!UNKNOWN)
attributes:
  check_mode:
    support: full
    description: The module only reads.
  diff_mode:
    support: none
    description: Nothing is changed.
  facts:
    support: full
    description: Returns C(ansible_facts.mailprivacy_processing).
options:
  root:
    description:
      - Directory that stands for C(/) when files are read (a mounted image, or a fixture tree in tests).
        Commands (C(doveconf), C(systemd-analyze)) are only run when it is C(/).
    type: path
    default: /
  services:
    description:
      - Services to describe, by the names of the service descriptors that have a record-of-processing
        collector (module_utils/service_catalog.py), for example V(system_logging), V(dovecot), V(qmail).
        Empty means all of them; each is skipped when it is not installed. An unknown name fails the module.
    type: list
    elements: str
    default: []
notes:
  - Needs root to read every configuration file (C(doveconf -n), C(/etc/courier)).
  - Retention figures are upper bounds derived from the configuration (for example logrotate's period times
    the number of kept copies); a size-bound store has no time limit and says so.
"""

EXAMPLES = r"""
- name: Collect the records of processing of this host
  mailprivacy.gdpr.processing_facts:

- name: Show them
  ansible.builtin.debug:
    var: ansible_facts.mailprivacy_processing.records
"""

RETURN = r"""
ansible_facts:
  description: Facts set by the module.
  returned: always
  type: complex
  contains:
    mailprivacy_processing:
      description: The host's records of processing.
      type: dict
      contains:
        services:
          description: Per service, whether it is present on the host.
          type: dict
          sample: {system_logging: true, dovecot: true, courier: false, qmail: false, horde: false, klms: false}
        records:
          description: One record per data store.
          type: list
          elements: dict
          sample:
            - service: system_logging
              store: journal
              data_type: Log entries of every service, mail included (user names, e-mail addresses, client IP addresses)
              location: /var/log/journal
              retention: 14 days (MaxRetentionSec=14day); at most 1G (SystemMaxUse)
              retention_days: 14
              retention_basis: /etc/systemd/journald.conf.d/80-mailprivacy-gdpr-mail-logging.conf
              protection: root:systemd-journal 2755 (owner, group systemd-journal)
              owner: root
              group: systemd-journal
              mode: '2755'
              readers: owner, group systemd-journal
              present: true
        problems:
          description: What could not be read (no personal data).
          type: list
          elements: str
          sample: []
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mailprivacy.gdpr.plugins.module_utils import service, service_catalog
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.processing import Host, Logrotate

# the services of the catalog that describe their records of processing (at import; collect()
# reads the catalog when it runs)
SERVICES = tuple(name for name, _collector in service.collectors(service_catalog.SERVICES))


def collect(host, services=None):
    """{'services': {name: present}, 'records': [...], 'problems': [...]}: the collector of every
    service of the catalog (module_utils/service_catalog.py) that ``services`` names (all when
    empty), in catalog order."""
    wanted = set(services) if services else None
    logrotate = Logrotate(host)
    out = {'services': {}, 'records': [], 'problems': []}
    for name, collector in service.collectors(service_catalog.SERVICES):
        if wanted is not None and name not in wanted:
            continue
        found = collector(host, logrotate)
        out['services'][name] = found is not None
        if found is not None:
            rows, problems = found
            out['records'].extend(rows)
            out['problems'].extend(problems)
    return out


def main():
    module = AnsibleModule(
        argument_spec=dict(
            root=dict(type='path', default='/'),
            services=dict(type='list', elements='str', default=[]),
        ),
        supports_check_mode=True,
    )
    root = module.params['root']
    known = [name for name, _collector in service.collectors(service_catalog.SERVICES)]
    for pos, name in enumerate(module.params['services']):
        if name not in known:
            module.fail_json(msg='services[%d] is not a service of the catalog (known: %s)' % (pos, ', '.join(known)))
    if not os.path.isdir(root):
        module.fail_json(msg='root: not a directory')
    facts = collect(Host(root), module.params['services'])
    module.exit_json(changed=False, ansible_facts={'mailprivacy_processing': facts})


if __name__ == '__main__':
    main()
