# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Service descriptors: what the collection knows about one mail service, in one place.

A :class:`Descriptor` names a service (``dovecot``, ``qmail``, ...) and declares

* its **stores** (the adapters, module_utils/store_*.py), each with an **erase order** number:
  the subject modules run the stores of every service in the order of these numbers, never
  in the order of a list (see :data:`ERASE_ORDER`);
* its **record-of-processing collector** (GDPR Art. 30; module_utils/processing.py), run by the
  processing_facts module;
* its **log patterns**: alternatives it adds to the personal-data patterns of the log audit
  (module_utils/pii_patterns.py, by pattern name: ``login``, ``password``, ``auth_debug``,
  ``auth_payload``, ``smtp_transcript``);
* its **debug patterns**: ``(name, description, regex)`` entries that the log_redact module's
  ``debug_traces`` mode removes, in the shape of ``log_redact.DEBUG_PATTERNS``;
* its **option docs**: the options of its stores as the stores declare them (``OPTIONS``,
  type and description beside the code that reads them), see :meth:`Descriptor.options`.

The list of descriptors is module_utils/service_catalog.py (a list of imports: AnsiballZ packs
only the module_utils a module imports, so the catalog cannot be a directory scan). Everything
that loops over services reads it when it runs: the store registry (:func:`erase_order`),
processing_facts (:func:`collectors`), pii_patterns (:func:`log_patterns`) and the log_redact
module (:func:`debug_patterns`). Adding a service is a descriptor, its adapter, its role, their
tests and one line in the catalog; see docs/developing.md, "Adding a service".

Python standard library only.
"""

from __future__ import annotations

import re

# The erase order numbers, by kind of store (a number only has to be unique; these ranges keep
# the order readable). Mailboxes go first, through the mail server's own tools before their
# files (so that the server can end sessions and expunge through its indexes), then queues,
# then the account databases that point at the mailboxes, then applications and appliances;
# logs go last, so that the lines the other stores' commands leave are redacted too.
ERASE_ORDER = (
    (100, 'mailboxes through the mail server (doveadm)'),
    (200, 'mailbox files (Maildir)'),
    (300, 'mail queues'),
    (400, 'account databases and system accounts'),
    (500, 'applications (webmail)'),
    (600, 'appliances and their backups'),
    (900, 'logs and the journal'),
)

LOG_PATTERN_NAMES = ('login', 'password', 'auth_debug', 'auth_payload', 'smtp_transcript')
_NAME_RE = re.compile(r'^[a-z][a-z0-9_]{0,39}$')


class ServiceError(ValueError):
    """A descriptor or the catalog is inconsistent (the message names the service and the field)."""


class Descriptor(object):
    """One service. ``stores``: ``((StoreClass, erase order number), ...)``; ``collector``:
    ``collect(host, logrotate) -> None or (records, problems)``; ``log_patterns``:
    ``{pattern name: (regex bytes, ...)}`` (alternatives of pii_patterns' patterns, compiled
    with ``re.M``); ``debug_patterns``: ``((name, description, regex bytes), ...)``;
    ``description``: one line for the documentation."""

    def __init__(self, name, description, stores=(), collector=None, log_patterns=None, debug_patterns=()):
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise ServiceError('a service name must be lower-case letters, digits and underscores')
        self.name = name
        self.description = description
        self.stores = []
        for entry in stores:
            try:
                cls, order = entry
            except (TypeError, ValueError):
                raise ServiceError('%s: stores must be (store class, erase order) pairs' % name)
            if not isinstance(order, int) or isinstance(order, bool) or order <= 0:
                raise ServiceError('%s: the erase order of store %s must be a positive whole number'
                                   % (name, getattr(cls, 'name', '?')))
            self.stores.append((cls, order))
        if collector is not None and not callable(collector):
            raise ServiceError('%s: the collector must be callable' % name)
        self.collector = collector
        self.log_patterns = {}
        for pattern, alternatives in (log_patterns or {}).items():
            if pattern not in LOG_PATTERN_NAMES:
                raise ServiceError('%s: log pattern %s is not one of %s' % (name, pattern, ', '.join(LOG_PATTERN_NAMES)))
            alternatives = tuple(alternatives)
            for regex in alternatives:
                _compile(name, 'log pattern %s' % pattern, regex)
            self.log_patterns[pattern] = alternatives
        self.debug_patterns = []
        for entry in debug_patterns:
            try:
                pname, pdescription, regex = entry
            except (TypeError, ValueError):
                raise ServiceError('%s: debug patterns must be (name, description, regex) triples' % name)
            _compile(name, 'debug pattern %s' % pname, regex)
            self.debug_patterns.append((pname, pdescription, regex))
        self.debug_patterns = tuple(self.debug_patterns)

    def __repr__(self):
        return 'Descriptor(%r)' % self.name

    def options(self):
        """{store name: the store's OPTIONS}: the option declarations of its stores (their
        documentation; tools/store_docs.py renders them into the subject doc fragment)."""
        return dict((cls.name, dict(cls.OPTIONS)) for cls, _order in self.stores)


def _compile(service, what, regex):
    if not isinstance(regex, bytes):
        raise ServiceError('%s: %s must be a bytes regex' % (service, what))
    try:
        re.compile(regex, re.M)
    except re.error:
        raise ServiceError('%s: %s is not a valid regex' % (service, what))


def _unique(catalog):
    names = [d.name for d in catalog]
    twice = sorted(set(n for n in names if names.count(n) > 1))
    if twice:
        raise ServiceError('the catalog names a service twice: %s' % ', '.join(twice))


# ------------------------------------------------------------------------------ what the consumers read
def erase_order(catalog):
    """The store classes of every service of ``catalog``, in the order of their erase order
    numbers. Two stores with one name or one number refuse the catalog (the order must be
    declared, never left to list positions)."""
    _unique(catalog)
    entries = []
    for desc in catalog:
        for cls, order in desc.stores:
            entries.append((order, cls, desc.name))
    by_name = {}
    by_order = {}
    for order, cls, service in entries:
        if cls.name in by_name:
            raise ServiceError('store %s is declared by %s and %s' % (cls.name, by_name[cls.name], service))
        if order in by_order:
            raise ServiceError('erase order %d is declared twice (stores %s and %s)' % (order, by_order[order], cls.name))
        by_name[cls.name] = service
        by_order[order] = cls.name
    return [cls for _order, cls, _service in sorted(entries, key=lambda e: e[0])]


def service_of(catalog, store_name):
    """The name of the service whose descriptor declares the store ``store_name``, or None."""
    for desc in catalog:
        if any(cls.name == store_name for cls, _order in desc.stores):
            return desc.name
    return None


def collectors(catalog):
    """[(service name, collector)] of the services that describe their records of processing,
    in catalog order."""
    _unique(catalog)
    return [(d.name, d.collector) for d in catalog if d.collector is not None]


def log_patterns(catalog):
    """{pattern name: [regex bytes, ...]}: every service's alternatives, in catalog order."""
    out = dict((name, []) for name in LOG_PATTERN_NAMES)
    for desc in catalog:
        for name, alternatives in desc.log_patterns.items():
            out[name].extend(alternatives)
    return out


def debug_patterns(catalog, generic=()):
    """The debug pattern table of log_redact's ``debug_traces`` mode: ``generic`` (the engine's
    own, log_redact.DEBUG_PATTERNS) then every service's, in catalog order. A name used twice
    refuses the catalog."""
    _unique(catalog)
    table = list(generic)
    for desc in catalog:
        table.extend(desc.debug_patterns)
    names = [p[0] for p in table]
    twice = sorted(set(n for n in names if names.count(n) > 1))
    if twice:
        raise ServiceError('debug pattern name(s) used twice: %s' % ', '.join(twice))
    return tuple(table)
