# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Joining fetched host bundles: safe unpacking, checksum verification, the archive."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import subprocess
import tarfile

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.plugin_utils import request_archive as ra

RID = 'req-0001'
HMAC = 'ab' * 32


def make_bundle(root, host, files, request_id=RID, subject_hmac=HMAC, complete=True):
    """A bundle as subject_export writes it: <root>/<host>/<rid>/... and manifest.json.
    Returns (bundle dir, manifest sha256)."""
    bundle = os.path.join(root, host, request_id)
    os.makedirs(bundle)
    entries = []
    for rel, data in sorted(files.items()):
        path = os.path.join(bundle, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as handle:
            handle.write(data)
        entries.append({'path': rel, 'store': rel.split('/')[0], 'kind': 'live', 'count': 1,
                        'size': len(data), 'sha256': hashlib.sha256(data).hexdigest()})
    manifest = {'format': 'mailprivacy.gdpr/subject-export', 'version': 1, 'request_id': request_id,
                'subject_hmac': subject_hmac, 'kind': 'user', 'host': host, 'created': '2025-01-01T00:00:00Z',
                'complete': complete, 'failed_stores': [] if complete else ['logs'],
                'stores': {'logs': {'store': 'logs', 'available': True, 'found': len(files), 'units': 'lines',
                                    'detail': {'live': len(files)}, 'reason': '', 'files': entries,
                                    'manual_steps': []},
                           'klms_backup': {'store': 'klms_backup', 'available': True, 'found': 0,
                                           'units': 'messages', 'detail': {}, 'reason': '',
                                           'manual_steps': ['KLMS: filter the Backup by HMAC %s' % HMAC[:8]]}},
                'files': entries}
    raw = json.dumps(manifest, indent=2).encode()
    with open(os.path.join(bundle, 'manifest.json'), 'wb') as handle:
        handle.write(raw)
    return bundle, hashlib.sha256(raw).hexdigest()


def private(path):
    """path and its parent created 0700, as subject_request prepares them."""
    os.makedirs(str(path), 0o700)
    os.chmod(str(path), 0o700)
    os.chmod(os.path.dirname(str(path)), 0o700)
    return path


def pack(bundle, dest):
    """tar.gz of the bundle directory, as the playbook packs it on the host."""
    subprocess.run(['tar', '--create', '--gzip', '--file', dest, '--directory', os.path.dirname(bundle),
                    '--', os.path.basename(bundle)], check=True)
    return dest


def hostile_tar(path, members):
    with tarfile.open(path, 'w:gz') as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def info(name, kind=tarfile.REGTYPE, size=0, linkname=''):
    item = tarfile.TarInfo(name)
    item.type = kind
    item.size = size
    item.linkname = linkname
    return item


@pytest.fixture
def fetched(tmp_path):
    src = tmp_path / 'hosts'
    staging = tmp_path / 'exports' / ('.%s.partial' % RID)
    private(staging)
    out = {}
    for host, files in (('mx1', {'logs/var/log/mail.log.txt': b'line of mx1\n'}),
                        ('mx2', {'logs/other/abc.txt': b'line a\n', 'maildir/mailbox-1/folder-1/000001.eml': b'x'})):
        bundle, digest = make_bundle(str(src), host, files)
        out[host] = (pack(bundle, str(staging / ('%s.tar.gz' % host))), digest)
    return tmp_path, staging, out


def test_join_writes_one_verified_archive(fetched):
    tmp_path, staging, hosts = fetched
    out = ra.join(RID, HMAC, 'user', hosts, str(tmp_path / 'exports'), str(staging))
    path = tmp_path / 'exports' / ('%s.tar.gz' % RID)
    assert out['path'] == str(path) and out['hosts'] == ['mx1', 'mx2']
    assert out['files'] == 3 and out['found'] == 3
    assert out['sha256'] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (tmp_path / 'exports' / ('%s.tar.gz.sha256' % RID)).read_text() == '%s  %s.tar.gz\n' % (out['sha256'], RID)
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    assert not staging.exists() and sorted(os.listdir(str(tmp_path / 'exports'))) == [
        '%s.tar.gz' % RID, '%s.tar.gz.sha256' % RID]

    extract = tmp_path / 'extract'
    extract.mkdir()
    with tarfile.open(str(path)) as tar:
        for member in tar:
            assert member.uid == 0 and member.gid == 0
            assert member.mode == (0o700 if member.isdir() else 0o600), member.name
            assert member.isdir() or member.isfile()
        tar.extractall(str(extract), filter='data')
    top = extract / RID
    # sha256sum -c, as the README tells a person to do
    check = subprocess.run(['sha256sum', '-c', 'SHA256SUMS'], cwd=str(top), capture_output=True, text=True,
                           check=False)
    assert check.returncode == 0 and check.stdout.count(': OK') == 5
    manifest = json.loads((top / 'manifest.json').read_text())
    assert manifest['format'] == 'mailprivacy.gdpr/subject-archive' and manifest['subject_hmac'] == HMAC
    assert manifest['totals']['by_store']['logs'] == {'found': 3, 'units': 'lines', 'hosts': 2}
    mx2 = manifest['hosts']['mx2']
    assert mx2['manifest'] == 'hosts/mx2/manifest.json'
    assert sorted(f['path'] for f in mx2['files']) == ['hosts/mx2/logs/other/abc.txt',
                                                       'hosts/mx2/maildir/mailbox-1/folder-1/000001.eml']
    assert (top / 'hosts' / 'mx2' / 'maildir' / 'mailbox-1' / 'folder-1' / '000001.eml').read_bytes() == b'x'
    readme = (top / 'README.md').read_text()
    assert '| mx1 | logs | 1 | lines | live 1 |' in readme and '| mx2 | logs | 2 | lines | live 2 |' in readme
    assert 'KLMS: filter the Backup' in readme and HMAC in readme


def test_existing_archive_needs_force(fetched):
    tmp_path, staging, hosts = fetched
    (tmp_path / 'exports' / ('%s.tar.gz' % RID)).write_bytes(b'old')
    with pytest.raises(ra.JoinError, match='exists already'):
        ra.join(RID, HMAC, 'user', hosts, str(tmp_path / 'exports'), str(staging))
    assert not staging.exists(), 'fetched copies must not stay on the controller'
    assert (tmp_path / 'exports' / ('%s.tar.gz' % RID)).read_bytes() == b'old'


def test_force_replaces_the_archive(fetched):
    tmp_path, staging, hosts = fetched
    (tmp_path / 'exports' / ('%s.tar.gz' % RID)).write_bytes(b'old')
    out = ra.join(RID, HMAC, 'user', hosts, str(tmp_path / 'exports'), str(staging), force=True)
    assert (tmp_path / 'exports' / ('%s.tar.gz' % RID)).read_bytes() != b'old' and out['files'] == 3


@pytest.mark.parametrize('tamper, fragment', [
    ('content', 'does not match its SHA-256 in manifest.json'),
    ('extra', 'are not in manifest.json'),
    ('missing', 'listed in manifest.json but missing'),
])
def test_a_file_that_does_not_match_its_manifest_fails(tmp_path, tamper, fragment):
    bundle, digest = make_bundle(str(tmp_path / 'src'), 'mx1', {'logs/a.txt': b'aaa\n', 'logs/b.txt': b'bbb\n'})
    if tamper == 'content':
        with open(os.path.join(bundle, 'logs', 'a.txt'), 'wb') as handle:
            handle.write(b'aab\n')
    elif tamper == 'extra':
        with open(os.path.join(bundle, 'logs', 'c.txt'), 'wb') as handle:
            handle.write(b'c\n')
    else:
        os.unlink(os.path.join(bundle, 'logs', 'b.txt'))
    staging = tmp_path / 'exports' / '.partial'
    private(staging)
    tar = pack(bundle, str(staging / 'mx1.tar.gz'))
    with pytest.raises(ra.JoinError) as err:
        ra.join(RID, HMAC, 'user', {'mx1': (tar, digest)}, str(tmp_path / 'exports'), str(staging))
    assert fragment in str(err.value) and str(err.value).startswith('mx1: ')
    assert os.listdir(str(tmp_path / 'exports')) == [], 'nothing may be left after a failed join'


@pytest.mark.parametrize('kw, digest_ok, fragment', [
    ({}, False, 'does not match the SHA-256 the export returned'),
    ({'request_id': 'req-other'}, True, 'outside the request directory'),
    ({'subject_hmac': 'cd' * 32}, True, 'another subject'),
    ({'complete': False}, True, 'incomplete'),
])
def test_manifest_checks(tmp_path, kw, digest_ok, fragment):
    bundle, digest = make_bundle(str(tmp_path / 'src'), 'mx1', {'logs/a.txt': b'a\n'}, **kw)
    work = tmp_path / 'work'
    work.mkdir()
    tar = pack(bundle, str(tmp_path / 'mx1.tar.gz'))
    with pytest.raises(ra.JoinError) as err:
        extracted = ra.extract_bundle(tar, str(work), RID, 'mx1')
        ra.verify_bundle(extracted, 'mx1', digest if digest_ok else '0' * 64, RID, HMAC)
    assert fragment in str(err.value)


def test_manifest_of_another_request_is_refused(tmp_path):
    bundle, digest = make_bundle(str(tmp_path / 'src'), 'mx1', {'logs/a.txt': b'a\n'})
    manifest = json.load(open(os.path.join(bundle, 'manifest.json')))
    manifest['request_id'] = 'req-other'
    raw = json.dumps(manifest).encode()
    with open(os.path.join(bundle, 'manifest.json'), 'wb') as handle:
        handle.write(raw)
    with pytest.raises(ra.JoinError, match='another request'):
        ra.verify_bundle(bundle, 'mx1', hashlib.sha256(raw).hexdigest(), RID, HMAC)


@pytest.mark.parametrize('members, fragment', [
    ([(info(RID, tarfile.DIRTYPE), None), (info(RID + '/x', tarfile.SYMTYPE, linkname='/etc/passwd'), None)],
     'link or a device'),
    ([(info(RID + '/../escape', size=1), b'x')], 'not a plain relative path'),
    ([(info('/abs/' + RID, size=1), b'x')], 'not a plain relative path'),
    ([(info('other/x', size=1), b'x')], 'outside the request directory'),
    ([(info(RID + '/dev', tarfile.CHRTYPE), None)], 'link or a device'),
    ([(info(RID + '/h', tarfile.LNKTYPE, linkname=RID + '/a'), None)], 'link or a device'),
    ([(info(RID + '/a', size=1), b'x'), (info(RID + '/a', size=1), b'y')], 'twice'),
])
def test_hostile_bundles_are_refused(tmp_path, members, fragment):
    tar = hostile_tar(str(tmp_path / 'evil.tar.gz'), members)
    work = tmp_path / 'work'
    work.mkdir()
    with pytest.raises(ra.JoinError) as err:
        ra.extract_bundle(tar, str(work), RID, 'mx1')
    assert fragment in str(err.value)
    assert not (tmp_path / 'escape').exists()


def test_not_a_tarball(tmp_path):
    bad = tmp_path / 'mx1.tar.gz'
    bad.write_bytes(b'not a tar')
    work = tmp_path / 'work'
    work.mkdir()
    with pytest.raises(ra.JoinError, match='not a readable tar.gz'):
        ra.extract_bundle(str(bad), str(work), RID, 'mx1')


@pytest.mark.parametrize('host', ['../x', 'a/b', '', '.', 'a b'])
def test_unusable_host_names(host):
    with pytest.raises(ra.JoinError):
        ra.host_dirname(host)


def test_open_export_directory_is_refused(fetched):
    tmp_path, staging, hosts = fetched
    os.chmod(str(tmp_path / 'exports'), 0o755)
    with pytest.raises(ra.JoinError, match='can be accessed by group or others'):
        ra.join(RID, HMAC, 'user', hosts, str(tmp_path / 'exports'), str(staging))
    assert not staging.exists()


def test_missing_fetched_file_and_empty_join(tmp_path):
    with pytest.raises(ra.JoinError, match='no host bundle'):
        ra.join(RID, HMAC, 'user', {}, str(tmp_path / 'e'), str(tmp_path / 'e' / '.s'))
    with pytest.raises(ra.JoinError, match='missing on the controller'):
        ra.join(RID, HMAC, 'user', {'mx1': (str(tmp_path / 'none.tar.gz'), 'x')}, str(tmp_path / 'e'),
                str(tmp_path / 'e' / '.s'))
