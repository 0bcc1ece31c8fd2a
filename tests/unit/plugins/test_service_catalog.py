# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Service descriptors and the catalog (issue 13, item 3): every store, collector, log pattern
and debug pattern of the collection comes from a descriptor; the erase order is the declared
numbers, not a list position; and a service added to the catalog list (here a fake one,
monkeypatched in: the catalog line is all a new service changes outside its own files) is
picked up by subject_find, subject_export and subject_erase (through AnsibleModule, on real
files), by the records of processing, by log_audit's patterns and by log_redact's debug mode,
without any other edit."""

from __future__ import annotations

import json
import os

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.mailprivacy.gdpr.plugins.module_utils import (
    log_redact as engine,
    pii_patterns,
    processing,
    service,
    service_catalog,
    store_registry,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import Store
from ansible_collections.mailprivacy.gdpr.plugins.modules import (
    log_audit,
    log_redact,
    processing_facts,
    subject_erase,
    subject_export,
    subject_find,
)

KEY = 'test-hmac-key-0123456789'
ADDRESS = 'zoe.fake@example.org'
OTHER = 'max.other@example.org'
# the registry before issue 13 (store_registry.STORES, by list position)
ORDER = ['dovecot', 'maildir', 'courier_queue', 'qmail_queue', 'courier_userdb', 'qmail_assign', 'vpopmail',
         'system_accounts', 'horde_sql', 'klms_backup', 'logs', 'journal']


# ------------------------------------------------------------------------------ the fake service
class FakeSpoolStore(Store):
    """A fake mail service's spool: one file per message in ``spool``."""
    name = 'fakemail_spool'
    units = 'messages'
    OPTIONS = {'spool': '', 'request_id': ''}

    def available(self):
        if not self.options['spool'] or not os.path.isdir(self.options['spool']):
            return False, 'no fakemail spool'
        return True, ''

    def _mine(self, subject):
        spool = self.options['spool']
        for name in sorted(os.listdir(spool)):
            with open(os.path.join(spool, name), 'rb') as handle:
                data = handle.read()
            if subject.matches(data):
                yield name, data

    def locate(self, subject):
        res = self.result()
        for _name, _data in self._mine(subject):
            res.add('spool')
        return res

    def export(self, subject, bundle_dir):
        res = self.result()
        for pos, (_name, data) in enumerate(self._mine(subject), 1):
            res.add('spool')
            res['files'].append(self.write_bundle_file(bundle_dir, 'message-%d.eml' % pos, [data], 'message', 1))
        return res

    def erase(self, subject, check_mode):
        mine = list(self._mine(subject))
        if not check_mode:
            for name, _data in mine:
                os.unlink(os.path.join(self.options['spool'], name))
        return self.result(found=len(mine), erased=len(mine), detail={'spool': len(mine)})


def collect_fakemail(host, logrotate):
    if not host.isdir('/var/spool/fakemail'):
        return None
    return [processing.record(host, 'fakemail', 'spool', 'Queued messages (addresses, bodies)', '/var/spool/fakemail',
                              '3 days (fakemail.conf)', 3, '/etc/fakemail.conf')], []


FAKE = service.Descriptor(
    'fakemail', 'A fake mail service',
    stores=((FakeSpoolStore, 350),),          # after the queues of qmail (310), before the accounts (400)
    collector=collect_fakemail,
    log_patterns={'login': (rb'\bfakemaild\[[0-9]+\]: session of [^\s]+',)},
    debug_patterns=(('fakemail_secret', 'fakemail debug dumps of secrets', rb'\bfakemaild\[[0-9]+\]: secret='),),
)


@pytest.fixture
def fakemail(monkeypatch, tmp_path):
    """The catalog with the fake service's line added; a host with its spool, config and logs."""
    monkeypatch.setattr(service_catalog, 'SERVICES', service_catalog.SERVICES + [FAKE])
    spool = tmp_path / 'var' / 'spool' / 'fakemail'
    spool.mkdir(parents=True)
    for pos, address in enumerate([ADDRESS, OTHER, ADDRESS], 1):
        (spool / ('%d.msg' % pos)).write_bytes(b'From: shop@example.net\nTo: <%s>\n\nhello\n' % address.encode())
    (tmp_path / 'etc').mkdir()
    (tmp_path / 'etc' / 'fakemail.conf').write_text('keep = 3d\n')
    return tmp_path


def run(module, capsys, args, check_mode=False):
    args = dict(args, _ansible_check_mode=check_mode)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    raw = capsys.readouterr().out
    return json.loads(raw), raw


def subject_args(root, **extra):
    return dict(addresses=[ADDRESS], hmac_key=KEY, request_id='req-fake-1', stores=['fakemail_spool'],
                store_options={'fakemail_spool': {'spool': str(root / 'var' / 'spool' / 'fakemail')}}, **extra)


# ------------------------------------------------------------------------------ the catalog as shipped
def test_every_store_comes_from_a_descriptor_in_the_declared_erase_order():
    stores = store_registry.get_stores()
    assert [cls.name for cls in stores] == ORDER
    owners = dict((cls.name, service.service_of(service_catalog.SERVICES, cls.name)) for cls in stores)
    assert owners == {'dovecot': 'dovecot', 'maildir': 'system', 'courier_queue': 'courier', 'qmail_queue': 'qmail',
                      'courier_userdb': 'courier', 'qmail_assign': 'qmail', 'vpopmail': 'qmail',
                      'system_accounts': 'system', 'horde_sql': 'horde', 'klms_backup': 'klms', 'logs': 'system_logging',
                      'journal': 'system_logging'}
    # the order is the numbers, not the position of a service in the catalog
    assert [cls.name for cls in service.erase_order(list(reversed(service_catalog.SERVICES)))] == ORDER
    assert processing_facts.SERVICES == ('system_logging', 'dovecot', 'courier', 'qmail', 'horde', 'klms')
    for desc in service_catalog.SERVICES:
        assert desc.options() == dict((cls.name, cls.OPTIONS) for cls, _order in desc.stores)


def test_the_pattern_tables_are_assembled_from_the_descriptors():
    table = service.debug_patterns(service_catalog.SERVICES, engine.DEBUG_PATTERNS)
    assert [p[0] for p in table] == [
        'password_field', 'smtp_auth_payload', 'given_password', 'dovecot_auth_debug', 'dovecot_passdb_password',
        'sasl_response', 'courier_debug_login', 'courier_authdaemond', 'transcript_password']
    # each service's log lines count under the pattern names of the compliance report
    counter = pii_patterns.LineCounter()
    lines = {b'dovecot: imap(ann): Disconnected': 'login', b'horde: FAILED LOGIN for ann [192.0.2.4] to Horde': 'login',
             b'authdaemond: received auth request': 'auth_debug', b'12 > 250 ok': 'smtp_transcript',
             b'dovecot: auth: Debug: x resp=AGFubg==': 'auth_payload'}
    for line, name in lines.items():
        assert counter.count(line + b'\n')[name] == 1, line
    without_dovecot = [d for d in service_catalog.SERVICES if d.name != 'dovecot']
    assert not pii_patterns.regexes(without_dovecot)['login'].search(b'dovecot: imap(ann): Disconnected')


@pytest.mark.parametrize('bad, words', [
    (dict(stores=((FakeSpoolStore, 100),)), 'erase order 100 is declared twice'),
    (dict(stores=((store_registry.get_stores(['logs'])[0], 355),)), 'store logs is declared by system_logging and fakemail'),
])
def test_the_catalog_refuses_an_order_or_a_store_declared_twice(monkeypatch, bad, words):
    monkeypatch.setattr(service_catalog, 'SERVICES', service_catalog.SERVICES + [service.Descriptor('fakemail', 'x', **bad)])
    with pytest.raises(service.ServiceError, match=words):
        store_registry.get_stores()


@pytest.mark.parametrize('kwargs, words', [
    (dict(stores=((FakeSpoolStore, 0),)), 'positive whole number'),
    (dict(stores=(FakeSpoolStore,)), 'pairs'),
    (dict(log_patterns={'email': (rb'x',)}), 'log pattern email is not one of'),
    (dict(log_patterns={'login': ('text',)}), 'bytes regex'),
    (dict(debug_patterns=(('x', 'y', rb'('),)), 'not a valid regex'),
])
def test_a_descriptor_is_checked(kwargs, words):
    with pytest.raises(service.ServiceError, match=words):
        service.Descriptor('fakemail', 'x', **kwargs)


# ------------------------------------------------------------------------------ adding a service
def test_a_new_service_in_the_catalog_is_found_exported_and_erased(fakemail, capsys):
    assert store_registry.store_names().index('fakemail_spool') == ORDER.index('courier_userdb')
    found, raw = run(subject_find, capsys, subject_args(fakemail))
    assert not found.get('failed') and found['stores']['fakemail_spool']['found'] == 2
    assert ADDRESS not in raw
    # every store of the registry, the fake one in its place (by its number, 350)
    assert store_registry.store_names() == ORDER[:4] + ['fakemail_spool'] + ORDER[4:]

    exported, raw = run(subject_export, capsys, dict(subject_args(fakemail), dest=str(fakemail / 'exports')))
    assert not exported.get('failed') and exported['summary']['found'] == {'fakemail_spool': 2}
    bundle = exported['bundle']
    assert sorted(os.listdir(os.path.join(bundle, 'fakemail_spool'))) == ['message-1.eml', 'message-2.eml']
    assert ADDRESS not in raw

    preview, _raw = run(subject_erase, capsys, subject_args(fakemail), check_mode=True)
    assert preview['stores']['fakemail_spool']['erased'] == 2 and len(os.listdir(str(fakemail / 'var/spool/fakemail'))) == 3
    erased, raw = run(subject_erase, capsys, subject_args(fakemail, confirm=True))
    store = erased['stores']['fakemail_spool']
    assert not erased.get('failed') and (store['before'], store['erased'], store['after']) == (2, 2, 0)
    assert os.listdir(str(fakemail / 'var/spool/fakemail')) == ['2.msg']   # the other person's message stays
    assert ADDRESS not in raw


def test_a_new_service_describes_its_records_of_processing(fakemail):
    facts = processing_facts.collect(processing.Host(str(fakemail)))
    assert facts['services']['fakemail'] is True
    (row,) = [r for r in facts['records'] if r['service'] == 'fakemail']
    assert (row['store'], row['retention_days'], row['location']) == ('spool', 3, '/var/spool/fakemail')
    assert processing_facts.collect(processing.Host(str(fakemail)), ['fakemail'])['services'] == {'fakemail': True}


def test_a_new_service_adds_its_log_and_debug_patterns(fakemail):
    logs = fakemail / 'log'
    logs.mkdir()
    # no timestamps: the file counts whole (its mtime is in the window)
    lines = [b'mx fakemaild[7]: session of zoe.fake', b'mx fakemaild[7]: secret=hunter2', b'mx fakemaild[7]: queue run']
    (logs / 'mail.log').write_bytes(b'\n'.join(lines) + b'\n')
    params = {'days': 7, 'since': None, 'paths': [str(logs / 'mail.log*')], 'extra_paths': [], 'exclude': [],
              'journal': False, 'journal_matches': [], 'journalctl': 'journalctl', 'patterns': ['login', 'password'],
              'accept': [], 'ignore_networks': [], 'ignore_own_addresses': False}
    found = log_audit.audit(params)
    assert found['findings'] == {'login': 1, 'password': 0}
    # the line is a login only through the fake descriptor's pattern
    shipped = [d for d in service_catalog.SERVICES if d is not FAKE]
    assert not pii_patterns.regexes(shipped)['login'].search(lines[0])
    result, failure = log_redact.run({'mode': 'debug_traces', 'action': 'remove', 'mask_token': 'hmac',
                                      'paths': [str(logs / 'mail.log*')], 'extra_paths': [], 'exclude': [],
                                      'debug_patterns': ['fakemail_secret'], 'addresses': [], 'logins': [], 'ips': [],
                                      'domain': None}, False)
    assert failure is None and result['lines_changed'] == 1
    assert (logs / 'mail.log').read_bytes() == lines[0] + b'\n' + lines[2] + b'\n'
