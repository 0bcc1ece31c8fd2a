# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The catalog of service descriptors (module_utils/service.py): one import and one list entry per
service. This list is data, not registry code: adding a service adds its line here and its own
files (descriptor, adapter, role, tests); no module and no code of the store registry changes.
It is a list of imports because AnsiballZ packs only the module_utils a module imports (a
directory scan would find nothing on the target host).

Order: the order of the services in the records of processing (processing_facts) and of their
patterns; the stores run in the order of their declared erase order numbers, not in this one.
Read it as ``service_catalog.SERVICES`` when it is used (tests replace the list)."""

from __future__ import annotations

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.service_courier import DESCRIPTOR as COURIER
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.service_dovecot import DESCRIPTOR as DOVECOT
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.service_horde import DESCRIPTOR as HORDE
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.service_klms import DESCRIPTOR as KLMS
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.service_qmail import DESCRIPTOR as QMAIL
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.service_system import DESCRIPTOR as SYSTEM
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.service_system_logging import DESCRIPTOR as SYSTEM_LOGGING

SERVICES = [
    SYSTEM_LOGGING,
    DOVECOT,
    COURIER,
    QMAIL,
    HORDE,
    KLMS,
    SYSTEM,
]
