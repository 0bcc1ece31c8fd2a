# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The stores the subject modules run (module_utils/request.py), in erase order: the stores of
every service descriptor of the catalog (module_utils/service_catalog.py), ordered by the erase
order numbers the descriptors declare (module_utils/service.py, ERASE_ORDER: mailboxes first,
logs last). A new service is a descriptor and its adapter in the catalog; nothing here changes."""

from __future__ import annotations

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import service, service_catalog
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import StoreError

# None: the stores come from the service catalog when they are asked for. A test may set a list
# of store classes here instead.
STORES = None


def registered():
    """The store classes of the registry, in erase order."""
    if STORES is not None:
        return list(STORES)
    return service.erase_order(service_catalog.SERVICES)


def store_names():
    return [cls.name for cls in registered()]


def get_stores(names=None):
    """The store classes, all of them or those named (in the order given). Unknown names
    raise StoreError; duplicates are dropped."""
    stores = registered()
    by_name = dict((cls.name, cls) for cls in stores)
    if names is None:
        return stores
    out = []
    for name in names:
        if name not in by_name:
            raise StoreError('unknown store %r; known stores: %s' % (str(name)[:40], ', '.join(sorted(by_name))))
        if by_name[name] not in out:
            out.append(by_name[name])
    return out
