# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Join the bundles that subject_export wrote on every host into one archive per subject.

1. :func:`extract_bundle` unpacks a fetched host bundle (``tar.gz`` of ``<request id>/``)
   into a private staging directory: regular files and directories only, nothing outside
   ``<request id>/``, files 0600 and directories 0700, never through a symbolic link.
2. :func:`verify_bundle` checks the host's ``manifest.json`` against the SHA-256 that the
   module returned through Ansible, then every file against the manifest (size and SHA-256),
   and that the bundle holds no file the manifest does not list.
3. :func:`write_archive` writes ``<request id>.tar.gz`` (mode 0600): ``<request id>/hosts/<host>/``
   per host, a top-level ``manifest.json`` (machine-readable), ``README.md`` (for a person) and
   ``SHA256SUMS`` (``sha256sum -c``); members are 0600 files and 0700 directories owned by 0:0.

Controller-only code (plugin_utils), used by the action plugin bundle_join.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import stat
import tarfile
import tempfile
import time

from ansible_collections.mailprivacy.gdpr.plugins.plugin_utils.audit import (
    HOST_RE,
    RequestError,
    private_dir,
    timestamp,
)

ARCHIVE_FORMAT = 'mailprivacy.gdpr/subject-archive'
ARCHIVE_VERSION = 1
BUNDLE_FORMAT = 'mailprivacy.gdpr/subject-export'
MANIFEST = 'manifest.json'
CHUNK = 1024 * 1024
_SEGMENT_RE = re.compile(r'^[^\x00-\x1f\x7f/\\]+$')


class JoinError(Exception):
    """A bundle cannot be joined. Messages name hosts and bundle paths (which hold no
    personal data by the store contract), never file contents."""


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b''):
            digest.update(chunk)
    return digest.hexdigest()


def safe_relpath(path, what='a bundle path'):
    """``path`` as a normalised relative path, or JoinError when it is absolute, empty,
    climbs out with ``..`` or holds control characters."""
    if not isinstance(path, str) or not path:
        raise JoinError('%s is empty' % what)
    parts = path.split('/')
    if path.startswith('/') or any(p in ('', '.', '..') or not _SEGMENT_RE.match(p) for p in parts):
        raise JoinError('%s is not a plain relative path' % what)
    return '/'.join(parts)


def host_dirname(host):
    if not isinstance(host, str) or not HOST_RE.match(host) or host in ('.', '..'):
        raise JoinError('a host name is not usable as a directory name')
    return host


def _write_new(path, chunks):
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_CLOEXEC', 0)
    fd = os.open(path, flags, 0o600)
    digest = hashlib.sha256()
    size = 0
    with os.fdopen(fd, 'wb') as handle:
        for chunk in chunks:
            handle.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _mkdirs(root, rel):
    """Create root/rel one directory at a time (0700), refusing symbolic links."""
    path = root
    for part in [p for p in rel.split('/') if p]:
        path = os.path.join(path, part)
        if os.path.islink(path):
            raise JoinError('a symbolic link appeared in the staging directory')
        if not os.path.isdir(path):
            os.mkdir(path, 0o700)
    return path


def extract_bundle(tar_path, dest, request_id, host):
    """Unpack the fetched bundle of ``host`` into ``dest/<host>`` (created 0700, must not exist).
    Returns the bundle directory (``dest/<host>/<request id>``)."""
    hostdir = os.path.join(dest, host_dirname(host))
    if os.path.lexists(hostdir):
        raise JoinError('%s: the staging directory of this host exists already' % host)
    os.mkdir(hostdir, 0o700)
    try:
        archive = tarfile.open(tar_path, 'r:gz')
    except (OSError, tarfile.TarError, EOFError) as err:
        raise JoinError('%s: the fetched bundle is not a readable tar.gz (%s)' % (host, type(err).__name__))
    seen = set()
    try:
        with archive:
            for member in archive:
                name = member.name.rstrip('/')
                if name.startswith('./'):
                    name = name[2:]
                rel = safe_relpath(name, '%s: a member of the fetched bundle' % host)
                if rel != request_id and not rel.startswith(request_id + '/'):
                    raise JoinError('%s: the fetched bundle holds a member outside the request directory' % host)
                if rel in seen:
                    raise JoinError('%s: the fetched bundle holds a member twice' % host)
                seen.add(rel)
                if member.isdir():
                    _mkdirs(hostdir, rel)
                elif member.isfile():
                    parent = _mkdirs(hostdir, os.path.dirname(rel))
                    source = archive.extractfile(member)
                    _write_new(os.path.join(parent, os.path.basename(rel)),
                               iter(lambda: source.read(CHUNK), b''))
                else:
                    raise JoinError('%s: the fetched bundle holds a link or a device; refusing' % host)
    except (tarfile.TarError, EOFError, OSError) as err:
        if isinstance(err, JoinError):
            raise
        raise JoinError('%s: the fetched bundle cannot be unpacked (%s)' % (host, type(err).__name__))
    bundle = os.path.join(hostdir, request_id)
    if not os.path.isdir(bundle) or os.path.islink(bundle):
        raise JoinError('%s: the fetched bundle has no request directory' % host)
    return bundle


def verify_bundle(bundle, host, manifest_sha256, request_id, subject_hmac):
    """Check one unpacked host bundle; return its manifest (a dict)."""
    mpath = os.path.join(bundle, MANIFEST)
    if not os.path.isfile(mpath) or os.path.islink(mpath):
        raise JoinError('%s: the bundle has no manifest.json' % host)
    if not manifest_sha256:
        raise JoinError('%s: the export returned no manifest checksum' % host)
    digest = sha256_file(mpath)
    if digest != manifest_sha256:
        raise JoinError('%s: manifest.json does not match the SHA-256 the export returned' % host)
    try:
        with open(mpath, 'rb') as handle:
            manifest = json.loads(handle.read().decode('utf-8'))
    except (ValueError, UnicodeDecodeError):
        raise JoinError('%s: manifest.json is not valid JSON' % host)
    if not isinstance(manifest, dict) or manifest.get('format') != BUNDLE_FORMAT:
        raise JoinError('%s: manifest.json is not a subject_export manifest' % host)
    if manifest.get('request_id') != request_id:
        raise JoinError('%s: the bundle belongs to another request' % host)
    if manifest.get('subject_hmac') != subject_hmac:
        raise JoinError('%s: the bundle belongs to another subject (HMAC differs)' % host)
    if not manifest.get('complete'):
        raise JoinError('%s: the bundle is incomplete (a store failed: %s)'
                        % (host, ', '.join(str(s) for s in manifest.get('failed_stores') or []) or 'unknown'))
    listed = {}
    for entry in manifest.get('files') or []:
        if not isinstance(entry, dict):
            raise JoinError('%s: manifest.json lists a file without a path' % host)
        rel = safe_relpath(entry.get('path'), '%s: a path in manifest.json' % host)
        if rel == MANIFEST or rel in listed:
            raise JoinError('%s: manifest.json lists %s twice' % (host, rel))
        listed[rel] = entry
    present = set()
    for root, dirs, files in os.walk(bundle):
        for name in dirs + files:
            full = os.path.join(root, name)
            if os.path.islink(full):
                raise JoinError('%s: the bundle holds a symbolic link' % host)
        for name in files:
            rel = os.path.relpath(os.path.join(root, name), bundle).replace(os.sep, '/')
            if rel != MANIFEST:
                present.add(rel)
    extra = sorted(present - set(listed))
    if extra:
        raise JoinError('%s: %d file(s) of the bundle are not in manifest.json, for example %s'
                        % (host, len(extra), extra[0]))
    for rel, entry in sorted(listed.items()):
        path = os.path.join(bundle, rel)
        if rel not in present:
            raise JoinError('%s: %s is listed in manifest.json but missing' % (host, rel))
        size = os.path.getsize(path)
        if entry.get('size') is not None and size != entry.get('size'):
            raise JoinError('%s: %s has another size than manifest.json says' % (host, rel))
        if sha256_file(path) != entry.get('sha256'):
            raise JoinError('%s: %s does not match its SHA-256 in manifest.json' % (host, rel))
    return manifest


def _store_summary(stores):
    out = {}
    for name, res in sorted((stores or {}).items()):
        if not isinstance(res, dict):
            continue
        item = {
            'available': bool(res.get('available', True)),
            'found': int(res.get('found') or 0),
            'units': res.get('units', ''),
            'detail': dict((k, v) for k, v in (res.get('detail') or {}).items() if isinstance(v, int)),
        }
        for key in ('reason', 'error'):
            if res.get(key):
                item[key] = str(res[key])
        if res.get('manual_steps'):
            item['manual_steps'] = [str(s) for s in res['manual_steps']]
        out[name] = item
    return out


def archive_manifest(request_id, subject_hmac, kind, bundles, created=None):
    """The top-level manifest. ``bundles``: {host: (bundle dir, host manifest, manifest sha256)}."""
    hosts = {}
    totals = {}
    file_count = 0
    total_size = 0
    for host in sorted(bundles):
        _bundle, manifest, msha = bundles[host]
        base = 'hosts/%s' % host_dirname(host)
        stores = _store_summary(manifest.get('stores'))
        files = []
        for entry in sorted(manifest.get('files') or [], key=lambda e: e['path']):
            files.append({
                'path': '%s/%s' % (base, entry['path']),
                'store': entry.get('store', ''),
                'kind': entry.get('kind', ''),
                'count': entry.get('count'),
                'size': entry.get('size'),
                'sha256': entry.get('sha256'),
            })
            file_count += 1
            total_size += int(entry.get('size') or 0)
        for name, item in stores.items():
            tot = totals.setdefault(name, {'found': 0, 'units': item['units'], 'hosts': 0})
            tot['found'] += item['found']
            if item['found']:
                tot['hosts'] += 1
        hosts[host] = {
            'directory': base,
            'manifest': '%s/%s' % (base, MANIFEST),
            'manifest_sha256': msha,
            'created': manifest.get('created'),
            'host_name': manifest.get('host'),
            'found': sum(s['found'] for s in stores.values()),
            'stores': stores,
            'files': files,
        }
    return {
        'format': ARCHIVE_FORMAT,
        'version': ARCHIVE_VERSION,
        'request_id': request_id,
        'subject_hmac': subject_hmac,
        'kind': kind,
        'created': created or timestamp(),
        'complete': True,
        'hosts': hosts,
        'totals': {
            'hosts': len(hosts),
            'found': sum(h['found'] for h in hosts.values()),
            'by_store': totals,
            'files': file_count,
            'size': total_size,
        },
        'checksums': 'SHA256SUMS',
    }


def render_readme(manifest):
    """README.md for a person: what was found where, the counts and how to verify the archive."""
    rid = manifest['request_id']
    lines = [
        '# Data export %s' % rid,
        '',
        'This archive holds the personal data that the mail systems listed below keep about one',
        'data subject (GDPR Art. 15 and 20). The subject is named only by a pseudonym, its HMAC:',
        '',
        '    %s' % manifest['subject_hmac'],
        '',
        '- Request: `%s` (%s)' % (rid, 'a whole customer account (mail domain)'
                                  if manifest.get('kind') == 'domain' else 'one user'),
        '- Created: %s (UTC)' % manifest['created'],
        '- Hosts: %d; items found: %d; files: %d (%d bytes)' % (
            manifest['totals']['hosts'], manifest['totals']['found'], manifest['totals']['files'],
            manifest['totals']['size']),
        '',
        '## What was found where',
        '',
        '| Host | Store | Found | Units | Details |',
        '|---|---|---:|---|---|',
    ]
    steps = []
    for host, entry in sorted(manifest['hosts'].items()):
        shown = False
        for name, store in sorted(entry['stores'].items()):
            if not store['available'] and not store['found']:
                continue
            detail = ', '.join('%s %d' % (k, v) for k, v in sorted(store['detail'].items()) if v)
            lines.append('| %s | %s | %d | %s | %s |' % (host, name, store['found'], store['units'], detail or '-'))
            shown = True
            for step in store.get('manual_steps') or []:
                steps.append('- %s, %s: %s' % (host, name, step))
        if not shown:
            lines.append('| %s | (none) | 0 | | no store of this host holds data of the subject |' % host)
    lines += [
        '',
        'Stores that are not present on a host are left out. Per host, `hosts/<host>/manifest.json`',
        'also lists them, with the reason.',
        '',
    ]
    if steps:
        lines += ['## Manual steps still open', ''] + steps + ['']
    lines += [
        '## Layout',
        '',
        '- `manifest.json`: this summary for programs (format `%s`, version %d): per host and'
        % (ARCHIVE_FORMAT, ARCHIVE_VERSION),
        '  store the counts, and every file with its size and SHA-256.',
        '- `SHA256SUMS`: the SHA-256 of every file, for `sha256sum -c`.',
        '- `hosts/<host>/manifest.json`: the manifest the host wrote when it exported.',
        '- `hosts/<host>/<store>/...`: the data, by store: messages as `.eml` files (open them with',
        '  any mail program) with an `index.json` per mailbox, log lines as `.txt` files (the lines',
        '  that name the subject, in their original order), database rows and account entries as JSON.',
        '',
        '## How to verify this archive',
        '',
        '```sh',
        'tar -xzf %s.tar.gz' % rid,
        'cd %s' % rid,
        'sha256sum -c SHA256SUMS        # every line must end in OK',
        '```',
        '',
        'Each `hosts/<host>/manifest.json` also lists the SHA-256 of its files, and the SHA-256 of',
        'each host manifest is in the top-level `manifest.json` (`hosts.<host>.manifest_sha256`).',
        'The SHA-256 of the archive itself is in `%s.tar.gz.sha256` next to it and in the audit' % rid,
        'record of the request on the controller.',
        '',
    ]
    return '\n'.join(lines)


def _sums(manifest):
    lines = []
    for host in sorted(manifest['hosts']):
        entry = manifest['hosts'][host]
        lines.append('%s  %s' % (entry['manifest_sha256'], entry['manifest']))
        for item in entry['files']:
            lines.append('%s  %s' % (item['sha256'], item['path']))
    return '\n'.join(lines) + '\n'


def _dir_info(name, mtime):
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o700
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ''
    return info


def _file_info(name, size, mtime):
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o600
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ''
    return info


def write_archive(export_dir, request_id, manifest, bundles, force=False, mtime=None):
    """Write ``<export_dir>/<request id>.tar.gz`` (0600) and ``.tar.gz.sha256`` next to it.
    Returns {path, sha256, size, checksum_file}."""
    try:
        directory = private_dir(export_dir, 'gdpr_export_dir')
    except RequestError as err:
        raise JoinError(str(err))
    final = os.path.join(directory, '%s.tar.gz' % request_id)
    if os.path.lexists(final) and not force:
        raise JoinError('the archive of this request exists already; set gdpr_export_force=true to replace it')
    if os.path.islink(final):
        raise JoinError('the archive path is a symbolic link; refusing')
    mtime = int(mtime if mtime is not None else time.time())
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % request_id, suffix='.partial', dir=directory)
    os.fchmod(fd, 0o600)
    try:
        with os.fdopen(fd, 'wb') as raw:
            with tarfile.open(fileobj=raw, mode='w:gz', format=tarfile.PAX_FORMAT) as tar:
                top = request_id
                tar.addfile(_dir_info(top, mtime))
                for name, text in (('manifest.json', json.dumps(manifest, indent=2, sort_keys=True) + '\n'),
                                   ('README.md', render_readme(manifest)),
                                   ('SHA256SUMS', _sums(manifest))):
                    data = text.encode('utf-8')
                    tar.addfile(_file_info('%s/%s' % (top, name), len(data), mtime), io.BytesIO(data))
                tar.addfile(_dir_info('%s/hosts' % top, mtime))
                for host in sorted(bundles):
                    bundle = bundles[host][0]
                    base = '%s/hosts/%s' % (top, host_dirname(host))
                    tar.addfile(_dir_info(base, mtime))
                    for root, dirs, files in os.walk(bundle):
                        dirs.sort()
                        rel_root = os.path.relpath(root, bundle).replace(os.sep, '/')
                        for name in dirs:
                            rel = name if rel_root == '.' else '%s/%s' % (rel_root, name)
                            tar.addfile(_dir_info('%s/%s' % (base, rel), mtime))
                        for name in sorted(files):
                            rel = name if rel_root == '.' else '%s/%s' % (rel_root, name)
                            path = os.path.join(root, name)
                            st = os.lstat(path)
                            if not stat.S_ISREG(st.st_mode):
                                raise JoinError('%s: the staging directory holds something other than files' % host)
                            with open(path, 'rb') as handle:
                                tar.addfile(_file_info('%s/%s' % (base, rel), st.st_size, mtime), handle)
            raw.flush()
            os.fsync(raw.fileno())
        digest = sha256_file(tmp)
        size = os.path.getsize(tmp)
        os.replace(tmp, final)
        tmp = None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    sums = final + '.sha256'
    tmp_fd, tmp_sums = tempfile.mkstemp(prefix='.%s.' % request_id, suffix='.sha256', dir=directory)
    with os.fdopen(tmp_fd, 'w') as handle:
        handle.write('%s  %s\n' % (digest, os.path.basename(final)))
    os.chmod(tmp_sums, 0o600)
    os.replace(tmp_sums, sums)
    return {'path': final, 'sha256': digest, 'size': size, 'checksum_file': sums}


def discard(staging_dir):
    """Remove the staging directory of fetched bundles (personal data) if it exists."""
    if os.path.isdir(staging_dir) and not os.path.islink(staging_dir):
        shutil.rmtree(staging_dir, ignore_errors=True)


def join(request_id, subject_hmac, kind, fetched, export_dir, staging_dir, force=False):
    """Unpack, verify and join every host's bundle. ``fetched``: {host: (local tar.gz path,
    manifest sha256 the export returned)}. The staging directory is removed in every case.
    Returns {archive..., manifest summary}."""
    if not fetched:
        raise JoinError('no host bundle to join')
    staging = os.path.abspath(staging_dir)
    try:
        private_dir(os.path.dirname(staging), 'gdpr_export_dir')
    except RequestError as err:
        discard(staging)
        raise JoinError(str(err))
    work = tempfile.mkdtemp(prefix='.join.', dir=os.path.dirname(staging))
    try:
        bundles = {}
        for host in sorted(fetched):
            tar_path, msha = fetched[host]
            if not tar_path or not os.path.isfile(tar_path):
                raise JoinError('%s: the fetched bundle is missing on the controller' % host)
            bundle = extract_bundle(tar_path, work, request_id, host)
            manifest = verify_bundle(bundle, host, msha, request_id, subject_hmac)
            bundles[host] = (bundle, manifest, msha)
        manifest = archive_manifest(request_id, subject_hmac, kind, bundles)
        out = write_archive(export_dir, request_id, manifest, bundles, force=force)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        discard(staging)
    out.update({
        'hosts': sorted(bundles),
        'files': manifest['totals']['files'],
        'found': manifest['totals']['found'],
        'total_size': manifest['totals']['size'],
        'by_store': manifest['totals']['by_store'],
    })
    return out
