# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Joining fetched host bundles: safe unpacking, checksum verification, the archive."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
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
    """tar.gz of the bundle directory, as the playbook packs it on the host (GNU tar)."""
    subprocess.run(['tar', '--create', '--gzip', '--sparse', '--file', dest, '--directory', os.path.dirname(bundle),
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


# ------------------------------------------------------------------------------ checks before extraction
MIB = 1024 * 1024
GOOD = {'logs/a.txt': b'aaa\n', 'maildir/mailbox-1/folder-1/000001.eml': b'Subject: x\n\nbody\n'}


def manifest_for(files, request_id=RID, sizes=None):
    """(raw manifest.json, its sha256) listing ``files`` {path: data}; ``sizes`` overrides sizes."""
    entries = [{'path': rel, 'store': rel.split('/')[0], 'kind': 'live', 'count': 1,
                'size': (sizes or {}).get(rel, len(data)), 'sha256': hashlib.sha256(data).hexdigest()}
               for rel, data in sorted(files.items())]
    manifest = {'format': 'mailprivacy.gdpr/subject-export', 'version': 1, 'request_id': request_id,
                'subject_hmac': HMAC, 'kind': 'user', 'host': 'mx1', 'created': '2025-01-01T00:00:00Z',
                'complete': True, 'failed_stores': [], 'stores': {}, 'files': entries}
    raw = json.dumps(manifest).encode()
    return raw, hashlib.sha256(raw).hexdigest()


def crafted(path, files=None, listed=None, before=(), after=(), sizes=None):
    """A host bundle tar.gz written member by member: the directory, manifest.json listing
    ``listed`` (default ``files``), the ``files``, with ``before``/``after`` extra (TarInfo,
    data) members. Returns (path, manifest sha256)."""
    files = GOOD if files is None else files
    raw, digest = manifest_for(files if listed is None else listed, sizes=sizes)
    members = [(info(RID, tarfile.DIRTYPE), None)] + list(before)
    members.append((info(RID + '/manifest.json', size=len(raw)), raw))
    for rel, data in sorted(files.items()):
        members.append((info('%s/%s' % (RID, rel), size=len(data)), data))
    members += list(after)
    return hostile_tar(str(path), members), digest


@pytest.fixture
def staging(tmp_path):
    work = tmp_path / 'work'
    work.mkdir(mode=0o700)
    return work


def refused(tar, staging, digest, fragment, **kw):
    with pytest.raises(ra.JoinError) as err:
        ra.extract_bundle(tar, str(staging), RID, 'mx1', digest, HMAC, **kw)
    message = str(err.value)
    assert message.startswith('mx1: ') and fragment in message, message
    assert os.listdir(str(staging)) == [], 'nothing may be extracted from a refused bundle'
    return message


def test_a_good_crafted_bundle_is_extracted(tmp_path, staging):
    tar, digest = crafted(tmp_path / 'ok.tar.gz')
    bundle = ra.extract_bundle(tar, str(staging), RID, 'mx1', digest, HMAC)
    assert ra.verify_bundle(bundle, 'mx1', digest, RID, HMAC)['request_id'] == RID
    data = open(os.path.join(bundle, 'maildir', 'mailbox-1', 'folder-1', '000001.eml'), 'rb').read()
    assert data == GOOD['maildir/mailbox-1/folder-1/000001.eml']
    for root, dirs, files in os.walk(str(staging / 'mx1')):
        for name in dirs:
            assert stat.S_IMODE(os.stat(os.path.join(root, name)).st_mode) == 0o700
        for name in files:
            assert stat.S_IMODE(os.stat(os.path.join(root, name)).st_mode) == 0o600


def test_a_member_the_manifest_does_not_list_is_refused_before_extraction(tmp_path, staging):
    tar, digest = crafted(tmp_path / 'x.tar.gz', after=[(info(RID + '/logs/ann@example.com.txt', size=3), b'abc')])
    message = refused(tar, staging, digest, '1 file(s) of the fetched bundle are not in manifest.json')
    assert 'ann@example.com' not in message and 'nothing was extracted' in message


def test_a_member_bigger_than_the_manifest_says_is_refused(tmp_path, staging):
    files = dict(GOOD, **{'logs/a.txt': b'aaa\n' + b'x' * 5000})
    tar, digest = crafted(tmp_path / 'x.tar.gz', files=files, sizes={'logs/a.txt': 4})
    refused(tar, staging, digest, 'have another size than manifest.json says')


def test_a_listed_file_missing_from_the_tar_is_refused(tmp_path, staging):
    files = dict(GOOD)
    del files['logs/a.txt']
    tar, digest = crafted(tmp_path / 'x.tar.gz', files=files, listed=GOOD)
    refused(tar, staging, digest, '1 file(s) listed in manifest.json but missing from the fetched bundle')


@pytest.mark.parametrize('member, fragment', [
    (info(RID + '/logs/link', tarfile.SYMTYPE, linkname='/etc/shadow'), 'link or a device'),
    (info(RID + '/logs/hard', tarfile.LNKTYPE, linkname=RID + '/logs/a.txt'), 'link or a device'),
    (info(RID + '/logs/dev', tarfile.CHRTYPE), 'link or a device'),
    (info(RID + '/logs/blk', tarfile.BLKTYPE), 'link or a device'),
    (info(RID + '/logs/fifo', tarfile.FIFOTYPE), 'link or a device'),
    (info(RID + '/logs/../../escape', size=1), 'not a plain relative path'),
    (info('/' + RID + '/logs/abs', size=1), 'not a plain relative path'),
    (info('other/x', size=1), 'outside the request directory'),
])
def test_bad_members_after_good_ones_extract_nothing(tmp_path, staging, member, fragment):
    """The old code extracted the members before the bad one; now nothing is written."""
    data = b'x' if member.size else None
    tar, digest = crafted(tmp_path / 'x.tar.gz', after=[(member, data)])
    refused(tar, staging, digest, fragment)
    assert not (tmp_path / 'escape').exists()


def test_a_duplicate_member_extracts_nothing(tmp_path, staging):
    tar, digest = crafted(tmp_path / 'x.tar.gz', after=[(info(RID + '/logs/a.txt', size=4), b'bbb\n')])
    refused(tar, staging, digest, 'holds a member twice')


def test_a_file_where_a_directory_is_needed_is_refused(tmp_path, staging):
    files = {'logs/a': b'1', 'logs/a/b.txt': b'2'}
    tar, digest = crafted(tmp_path / 'x.tar.gz', files=files)
    refused(tar, staging, digest, 'a file where it also holds a directory')


def test_a_manifest_that_does_not_match_the_export_extracts_nothing(tmp_path, staging):
    tar, _digest = crafted(tmp_path / 'x.tar.gz')
    refused(tar, staging, '0' * 64, 'does not match the SHA-256 the export returned')
    members = [(info(RID, tarfile.DIRTYPE), None), (info(RID + '/logs/a.txt', size=1), b'a')]
    tar2 = hostile_tar(str(tmp_path / 'nomanifest.tar.gz'), members)
    refused(tar2, staging, None, 'has no manifest.json')


def test_total_over_the_cap_extracts_nothing(tmp_path, staging):
    files = {'logs/a.txt': b'a' * (2 * MIB), 'logs/b.txt': b'b' * (2 * MIB)}
    tar, digest = crafted(tmp_path / 'x.tar.gz', files=files)
    refused(tar, staging, digest, 'bigger than max_bundle_size (3 MiB)', max_size=3 * MIB)
    assert ra.extract_bundle(tar, str(staging), RID, 'mx1', digest, HMAC, max_size=0)   # 0: no cap


def test_a_header_claiming_a_huge_member_is_refused_on_the_header(tmp_path, staging):
    """A gzip bomb's member is refused by its declared size before its data is read."""
    raw, digest = manifest_for(GOOD)
    path = tmp_path / 'bomb.tar.gz'
    with gzip.open(str(path), 'wb') as out:
        out.write(info(RID, tarfile.DIRTYPE).tobuf(tarfile.GNU_FORMAT))
        out.write(info(RID + '/logs/a.txt', size=64 * 1024 ** 3).tobuf(tarfile.GNU_FORMAT))
        out.write(bytes(1024 * 1024))
    refused(str(path), staging, digest, 'bigger than max_bundle_size (20480 MiB)')


def test_not_enough_space_on_the_controller_extracts_nothing(tmp_path, staging, monkeypatch):
    tar, digest = crafted(tmp_path / 'x.tar.gz')
    monkeypatch.setattr(ra.fsops, 'fs_bytes', lambda fd: 100 * MIB)             # keeps 5 MiB free
    monkeypatch.setattr(ra.fsops, 'free_bytes', lambda fd, reserved=True: 5 * MIB)
    refused(tar, staging, digest, 'not enough free space on the controller for the bundle of this host')


def test_the_archive_copy_of_earlier_hosts_is_reserved(tmp_path, monkeypatch):
    """Two hosts that fit one at a time, but not with the archive copy of the first one."""
    staging_dir = tmp_path / 'exports' / '.partial'
    private(staging_dir)
    fetched = {}
    for host in ('mx1', 'mx2'):
        bundle, digest = make_bundle(str(tmp_path / 'src'), host, {'logs/a.txt': b'a' * (4 * MIB)})
        fetched[host] = (pack(bundle, str(staging_dir / ('%s.tar.gz' % host))), digest)
    monkeypatch.setattr(ra.fsops, 'fs_bytes', lambda fd: 100 * MIB)             # keeps 5 MiB free
    monkeypatch.setattr(ra.fsops, 'free_bytes', lambda fd, reserved=True: 5 * MIB + 10 * MIB)
    with pytest.raises(ra.JoinError) as err:
        ra.join(RID, HMAC, 'user', fetched, str(tmp_path / 'exports'), str(staging_dir))
    assert str(err.value).startswith('mx2: not enough free space on the controller')
    assert os.listdir(str(tmp_path / 'exports')) == []


def test_a_truncated_bundle_leaves_nothing(tmp_path, staging):
    files = {'logs/a.txt': os.urandom(256 * 1024)}
    tar, digest = crafted(tmp_path / 'x.tar.gz', files=files)
    data = open(tar, 'rb').read()
    with open(tar, 'wb') as handle:
        handle.write(data[:len(data) // 2])
    refused(tar, staging, digest, 'fetched bundle')


def test_sparse_files_packed_with_gnu_tar_keep_their_holes(tmp_path, staging):
    bundle = os.path.join(str(tmp_path / 'src'), 'mx1', RID)
    os.makedirs(os.path.join(bundle, 'maildir'))
    sparse = os.path.join(bundle, 'maildir', 'big.eml')
    with open(sparse, 'wb') as handle:
        handle.write(b'Subject: holes\n\n')
        handle.seek(64 * MIB)
        handle.write(b'end\n')
    data = open(sparse, 'rb').read()
    raw, digest = manifest_for({'maildir/big.eml': data})
    with open(os.path.join(bundle, 'manifest.json'), 'wb') as handle:
        handle.write(raw)
    tar = pack(bundle, str(tmp_path / 'mx1.tar.gz'))
    assert os.path.getsize(tar) < 64 * 1024, 'GNU tar --sparse stores the data only'
    with tarfile.open(tar) as archive:
        assert [m.issparse() for m in archive if m.name.endswith('big.eml')] == [True]
    out = ra.extract_bundle(tar, str(staging), RID, 'mx1', digest, HMAC, max_size=128 * MIB)
    ra.verify_bundle(out, 'mx1', digest, RID, HMAC)
    copy = os.path.join(out, 'maildir', 'big.eml')
    assert open(copy, 'rb').read() == data
    assert os.stat(copy).st_blocks * 512 < MIB, 'the hole was written out on the controller'
    # the logical size counts against the cap, as on the host
    shutil.rmtree(str(staging / 'mx1'))
    refused(tar, staging, digest, 'bigger than max_bundle_size', max_size=32 * MIB)
