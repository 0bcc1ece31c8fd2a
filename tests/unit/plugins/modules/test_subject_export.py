# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""subject_export run through AnsibleModule with patched module arguments: bundle layout,
modes, manifest checksums, idempotence, check mode, and no identifier in the output."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import stat

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import bundle, store_registry
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import Store, StoreError
from ansible_collections.mailprivacy.gdpr.plugins.modules import subject_export

from module_main import run_main
from test_subject_find import FORBIDDEN, IDENTIFIERS, KEY, assert_no_identifier, make_logs, store_opts


run = functools.partial(run_main, subject_export)


def base_args(tmp_path, **extra):
    logs = tmp_path / 'log'
    if not logs.exists():
        logs.mkdir()
        make_logs(str(logs))
    args = dict(IDENTIFIERS, hmac_key=KEY, stores=['logs'], store_options=store_opts(str(logs)),
                request_id='req-42', dest=str(tmp_path / 'exports'))
    args.update(extra)
    return args


def tree(path):
    out = {}
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            full = os.path.join(root, name)
            out[os.path.relpath(full, path)] = stat.S_IMODE(os.lstat(full).st_mode)
    return out


def test_export_bundle_layout_modes_and_manifest(tmp_path, capsys):
    result, raw = run(capsys, base_args(tmp_path))
    assert result['changed'] is True and result['complete'] is True and not result.get('failed')
    bundle = tmp_path / 'exports' / 'req-42'
    assert result['bundle'] == str(bundle) and result['manifest'] == str(bundle / 'manifest.json')
    assert_no_identifier(raw)

    modes = tree(str(tmp_path / 'exports'))
    for rel, mode in modes.items():
        full = tmp_path / 'exports' / rel
        assert mode == (0o700 if full.is_dir() else 0o600), rel
    assert stat.S_IMODE(os.stat(tmp_path / 'exports').st_mode) == 0o700
    # no partial work directory left behind
    assert os.listdir(str(tmp_path / 'exports')) == ['req-42']

    manifest = json.loads((bundle / 'manifest.json').read_text())
    assert manifest['format'] == 'mailprivacy.gdpr/subject-export' and manifest['version'] == 1
    assert manifest['request_id'] == 'req-42' and manifest['subject_hmac'] == result['subject_hmac']
    assert manifest['host'] and manifest['complete'] is True and manifest['created'].endswith('Z')
    assert manifest['stores']['logs']['found'] == 10
    assert hashlib.sha256((bundle / 'manifest.json').read_bytes()).hexdigest() == result['manifest_sha256']
    listed = set()
    total = 0
    for entry in manifest['files']:
        data = (bundle / entry['path']).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry['sha256'] and len(data) == entry['size']
        assert entry['store'] == 'logs' and entry['kind'] in ('live', 'compressed', 'multilog')
        assert len(data.splitlines()) == entry['count']
        assert b'joann@' not in data and b'bob@example.org' not in data
        listed.add(entry['path'])
        total += entry['count']
    assert total == 10 and manifest['file_count'] == 3
    on_disk = set(rel for rel in modes if (bundle.parent / rel).is_file() and rel.startswith('req-42/'))
    assert on_disk == set('req-42/' + p for p in listed) | {'req-42/manifest.json'}
    # the manifest is the only place with data; it holds no identifier either
    manifest_text = (bundle / 'manifest.json').read_text()
    for value in FORBIDDEN:
        assert value.lower() not in manifest_text.lower()
    summary = result['summary']
    assert summary['found'] == {'logs': 10} and summary['file_count'] == 3 and summary['request_id'] == 'req-42'


def test_export_is_idempotent_and_force_rebuilds(tmp_path, capsys):
    first = run(capsys, base_args(tmp_path))[0]
    second, raw = run(capsys, base_args(tmp_path))
    assert second['changed'] is False and second['manifest_sha256'] == first['manifest_sha256']
    assert second['stores']['logs']['found'] == 10
    assert_no_identifier(raw)
    forced = run(capsys, base_args(tmp_path, force=True))[0]
    assert forced['changed'] is True and forced['summary']['file_count'] == 3
    assert sorted(os.listdir(str(tmp_path / 'exports'))) == ['req-42']


def test_existing_bundle_of_another_subject_is_refused(tmp_path, capsys):
    run(capsys, base_args(tmp_path))
    result, raw = run(capsys, base_args(tmp_path, addresses=['bob@example.org'], logins=[], ips=[]))
    assert result['failed'] is True and 'another subject' in result['msg']
    assert 'bob@example.org' not in raw


def test_check_mode_writes_nothing(tmp_path, capsys):
    result, raw = run(capsys, base_args(tmp_path), check_mode=True)
    assert result['changed'] is True and result['stores']['logs']['found'] == 10
    assert not (tmp_path / 'exports').exists()
    assert_no_identifier(raw)


@pytest.mark.parametrize('ident', [
    {'addresses': ['*@example.com']}, {'logins': ['../root']}, {'ips': ['10.0.0.*']}, {'addresses': ['a\x00@b.c']},
])
def test_hostile_identifiers_touch_nothing(tmp_path, capsys, ident):
    args = base_args(tmp_path)
    args.update(ident)
    result, raw = run(capsys, args)
    assert result['failed'] is True and 'invalid subject' in result['msg']
    assert not (tmp_path / 'exports').exists()
    for values in ident.values():
        for value in values:
            assert value not in raw


@pytest.mark.parametrize('request_id', ['../evil', 'a/b', '', '.hidden', 'x' * 65, 'ann@example.com'])
def test_bad_request_id(tmp_path, capsys, request_id):
    result, _raw = run(capsys, base_args(tmp_path, request_id=request_id))
    assert result['failed'] is True
    assert not (tmp_path / 'exports').exists()


def test_dest_symlink_refused(tmp_path, capsys):
    (tmp_path / 'real').mkdir()
    os.symlink(str(tmp_path / 'real'), str(tmp_path / 'exports'))
    result, _raw = run(capsys, base_args(tmp_path))
    assert result['failed'] is True and 'symbolic link' in result['msg']
    assert os.listdir(str(tmp_path / 'real')) == []


class FailingStore(Store):
    name = 'failing'
    OPTIONS = {}

    def export(self, subject, bundle_dir):
        raise StoreError('failing: the backend refused')


class EmlStore(Store):
    name = 'mailbox'
    units = 'messages'

    def export(self, subject, bundle_dir):
        res = self.result()
        entry = self.write_bundle_file(bundle_dir, 'INBOX/1.eml', [b'Subject: x\r\n\r\nbody\r\n'], 'message', 1)
        res.add('INBOX', 1)
        res['files'].append(entry)
        return res


def test_registry_stores_and_a_failing_store(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(store_registry, 'STORES', [EmlStore, FailingStore])
    result, raw = run(capsys, dict(addresses=['ann@example.com'], hmac_key=KEY, request_id='r2',
                                   dest=str(tmp_path / 'exports')))
    assert result['failed'] is True and result['complete'] is False
    assert result['failed_stores'] == ['failing'] and 'the backend refused' in result['msg']
    manifest = json.loads((tmp_path / 'exports' / 'r2' / 'manifest.json').read_text())
    assert manifest['complete'] is False and manifest['failed_stores'] == ['failing']
    assert [f['path'] for f in manifest['files']] == ['mailbox/INBOX/1.eml']
    assert manifest['files'][0]['kind'] == 'message' and manifest['files'][0]['count'] == 1
    assert 'ann@example.com' not in raw


# ------------------------------------------------------------------------------ size cap and free space
class BigStore(Store):
    """Writes 3 MiB in 64 KiB chunks."""
    name = 'big'
    units = 'messages'

    def export(self, subject, bundle_dir):
        res = self.result()
        res['files'].append(self.write_bundle_file(bundle_dir, 'big.eml', [b'b' * 65536] * 48, 'message', 1))
        res.add('INBOX', 1)
        return res


class SpyStore(EmlStore):
    """Records the budget its bundle directory has."""
    seen = []

    def locate(self, subject):
        return self.result(found=1)

    def export(self, subject, bundle_dir):
        SpyStore.seen.append(bundle.budget_for(bundle_dir).max_size)
        return super(SpyStore, self).export(subject, bundle_dir)


def test_cap_hit_fails_and_removes_the_partial_bundle(tmp_path, capsys):
    result, raw = run(capsys, base_args(tmp_path, max_bundle_size='1K'))
    assert result['failed'] is True and result['complete'] is False and result['changed'] is False
    assert re.match(r'the export would exceed max_bundle_size \(1024 bytes; \d+ bytes written\); '
                    r'the partial bundle was removed\Z', result['msg'])
    assert os.listdir(str(tmp_path / 'exports')) == [], 'no bundle and no partial work directory may stay'
    assert_no_identifier(raw)
    # within the cap the same export succeeds
    result = run(capsys, base_args(tmp_path, max_bundle_size='1M'))[0]
    assert result['complete'] is True and result['summary']['total_size'] < 1024 * 1024


def test_cap_hit_by_a_later_store_removes_what_the_earlier_ones_wrote(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(store_registry, 'STORES', [EmlStore, BigStore])
    result, raw = run(capsys, dict(addresses=['ann@example.com'], hmac_key=KEY, request_id='r3',
                                   dest=str(tmp_path / 'exports'), max_bundle_size='2M'))
    assert result['failed'] is True and result['complete'] is False
    assert 'exceed max_bundle_size (2 MiB; ' in result['msg'] and 'manifest_sha256' not in result
    assert os.listdir(str(tmp_path / 'exports')) == []
    assert 'ann@example.com' not in raw
    # no cap: the same export completes
    result = run(capsys, dict(addresses=['ann@example.com'], hmac_key=KEY, request_id='r3',
                              dest=str(tmp_path / 'exports'), max_bundle_size=0))[0]
    assert result['complete'] is True and result['summary']['total_size'] > 3 * 1024 * 1024


def test_not_enough_free_space_fails_before_any_store_runs(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(store_registry, 'STORES', [SpyStore])
    monkeypatch.setattr(SpyStore, 'seen', [])
    monkeypatch.setattr(bundle.fsops, 'free_bytes', lambda fd, reserved=True: 100 * 1024 * 1024)
    args = dict(addresses=['ann@example.com'], hmac_key=KEY, request_id='r4', dest=str(tmp_path / 'exports'))
    result, raw = run(capsys, args)
    assert result['failed'] is True and result['complete'] is False
    assert result['msg'].startswith('not enough free space on the host for the export bundle (0 bytes written, '
                                    '100 MiB free; the export keeps ')
    assert SpyStore.seen == [], 'nothing may be read or written without room for the bundle'
    assert os.listdir(str(tmp_path / 'exports')) == []
    assert 'ann@example.com' not in raw
    # check mode writes nothing: the free space does not matter
    result = run(capsys, args, check_mode=True)[0]
    assert result['complete'] is True and not result.get('failed')


def test_default_cap_is_20_gib(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(store_registry, 'STORES', [SpyStore])
    monkeypatch.setattr(SpyStore, 'seen', [])
    result = run(capsys, dict(addresses=['ann@example.com'], hmac_key=KEY, request_id='r5',
                              dest=str(tmp_path / 'exports')))[0]
    assert result['complete'] is True and SpyStore.seen == [20 * 1024 ** 3]
    assert subject_export.DOCUMENTATION.count('default: 20G') == 1
