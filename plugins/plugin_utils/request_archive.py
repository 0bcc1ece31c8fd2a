# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Join the bundles that subject_export wrote on every host into one archive per subject.

1. :func:`extract_bundle` first lists a fetched host bundle (``tar.gz`` of ``<request id>/``)
   without writing anything (:func:`inspect_bundle`): every member must be a regular file or a
   directory (no link, device or FIFO) with a plain path inside ``<request id>/``, no member may
   come twice, the ``manifest.json`` in it must match the SHA-256 the module returned, every
   file must be listed in it with the size it says and every listed file must be there, and
   the total must stay within ``max_bundle_size`` and the free space of the staging directory.
   Any mismatch refuses the whole bundle with nothing extracted. Then it unpacks it into a
   private staging directory through directory handles (files 0600 created ``O_EXCL``,
   directories 0700, holes of sparse members kept).
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

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import fsops
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.bundle import DEFAULT_MAX_SIZE, margin_for
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.request import stores_summary
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
MIB = 1024 * 1024
# a host's manifest.json is read into memory before anything is extracted
MANIFEST_MAX = 256 * MIB
# members of one host bundle (files and directories); tarfile keeps every header in memory
MAX_MEMBERS = 2000000
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


def _member_rel(member, host, request_id):
    """The member's path (checked: plain, relative, inside ``<request id>/``)."""
    name = member.name.rstrip('/')
    if name.startswith('./'):
        name = name[2:]
    rel = safe_relpath(name, '%s: a member of the fetched bundle' % host)
    if rel != request_id and not rel.startswith(request_id + '/'):
        raise JoinError('%s: the fetched bundle holds a member outside the request directory' % host)
    return rel


def _data_bytes(member):
    """Bytes a file member takes once extracted with its holes (its sparse map's data)."""
    sparse = getattr(member, 'sparse', None)
    if sparse:
        return sum(int(size) for _offset, size in sparse)
    return member.size


def check_manifest(manifest, host, request_id, subject_hmac=None):
    """The checks of a host manifest that need no file: format, request, subject, complete.
    Returns {path: entry} of its files (paths checked, each once, sizes whole numbers)."""
    if not isinstance(manifest, dict) or manifest.get('format') != BUNDLE_FORMAT:
        raise JoinError('%s: manifest.json is not a subject_export manifest' % host)
    if manifest.get('request_id') != request_id:
        raise JoinError('%s: the bundle belongs to another request' % host)
    if subject_hmac is not None and manifest.get('subject_hmac') != subject_hmac:
        raise JoinError('%s: the bundle belongs to another subject (HMAC differs)' % host)
    if not manifest.get('complete'):
        raise JoinError('%s: the bundle is incomplete (a store failed: %s)'
                        % (host, ', '.join(str(s) for s in manifest.get('failed_stores') or []) or 'unknown'))
    listed = {}
    files = manifest.get('files') or []
    if not isinstance(files, list):
        raise JoinError('%s: manifest.json has no list of files' % host)
    for entry in files:
        if not isinstance(entry, dict):
            raise JoinError('%s: manifest.json lists a file without a path' % host)
        rel = safe_relpath(entry.get('path'), '%s: a path in manifest.json' % host)
        if rel == MANIFEST or rel in listed:
            raise JoinError('%s: manifest.json lists a file twice' % host)
        size = entry.get('size')
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
            raise JoinError('%s: manifest.json lists a file without a valid size' % host)
        listed[rel] = entry
    return listed


def inspect_bundle(archive, host, request_id, manifest_sha256=None, subject_hmac=None,
                   max_size=DEFAULT_MAX_SIZE):
    """List the members of the open tar ``archive`` and check them against the manifest.json it
    holds, before anything is extracted (see the module docstring). ``max_size``: cap on the
    total size of the files (0: none). Returns (manifest, [(path, member)] in archive order,
    bytes the files take once extracted). Refusals are JoinError naming the host and the kind
    of mismatch, never a path."""
    members = []
    seen = set()
    total = 0
    data = 0
    manifest_raw = None
    manifest_rel = '%s/%s' % (request_id, MANIFEST)
    for member in archive:
        rel = _member_rel(member, host, request_id)
        if rel in seen:
            raise JoinError('%s: the fetched bundle holds a member twice' % host)
        seen.add(rel)
        if len(seen) > MAX_MEMBERS:
            raise JoinError('%s: the fetched bundle holds more than %d members' % (host, MAX_MEMBERS))
        if member.isfile():
            # checked on the header, before the member's data is read or skipped
            total += member.size
            if max_size and total > max_size:
                raise JoinError('%s: the fetched bundle is bigger than max_bundle_size (%d MiB); nothing was extracted'
                                % (host, max_size // MIB))
            data += _data_bytes(member) + fsops.BLOCK
            if rel == manifest_rel:
                if member.size > MANIFEST_MAX:
                    raise JoinError('%s: manifest.json of the fetched bundle is too big' % host)
                manifest_raw = archive.extractfile(member).read()
        elif not member.isdir():
            raise JoinError('%s: the fetched bundle holds a link or a device; refusing' % host)
        members.append((rel, member))
    if manifest_raw is None:
        raise JoinError('%s: the fetched bundle has no manifest.json; nothing was extracted' % host)
    if manifest_sha256 is not None and hashlib.sha256(manifest_raw).hexdigest() != manifest_sha256:
        raise JoinError('%s: manifest.json does not match the SHA-256 the export returned' % host)
    try:
        manifest = json.loads(manifest_raw.decode('utf-8'))
    except (ValueError, UnicodeDecodeError):
        raise JoinError('%s: manifest.json is not valid JSON' % host)
    listed = check_manifest(manifest, host, request_id, subject_hmac)

    prefix = request_id + '/'
    files = {}
    parents = set()
    for rel, member in members:
        parts = rel.split('/')
        parents.update('/'.join(parts[:i]) for i in range(1, len(parts)))
        if member.isfile() and rel != manifest_rel:
            files[rel[len(prefix):]] = member
    extra = [rel for rel in files if rel not in listed]
    if extra:
        raise JoinError('%s: %d file(s) of the fetched bundle are not in manifest.json; nothing was extracted'
                        % (host, len(extra)))
    missing = [rel for rel in listed if rel not in files]
    if missing:
        raise JoinError('%s: %d file(s) listed in manifest.json but missing from the fetched bundle; nothing was '
                        'extracted' % (host, len(missing)))
    wrong = [rel for rel, member in files.items()
             if listed[rel].get('size') is None or member.size != listed[rel]['size']]
    if wrong:
        raise JoinError('%s: %d file(s) of the fetched bundle have another size than manifest.json says; nothing '
                        'was extracted' % (host, len(wrong)))
    if any(prefix + rel in parents for rel in files) or manifest_rel in parents:
        raise JoinError('%s: the fetched bundle holds a file where it also holds a directory; nothing was extracted'
                        % host)
    return manifest, members, data


def _open_dir(path):
    """A handle of the directory ``path``, which this controller run created privately (its
    last component is never followed if it is a symbolic link)."""
    return fsops.Dir(os.open(path, fsops.DIR_FLAGS))


def _check_space(handle, host, data, reserve):
    """Refuse when the staging file system cannot take ``data`` bytes twice (the extracted
    files and their copy in the archive) plus ``reserve`` and the margin."""
    free = fsops.free_bytes(handle.fd, reserved=False)
    keep = margin_for(fsops.fs_bytes(handle.fd))
    if 2 * data + reserve + keep > free:
        raise JoinError('%s: not enough free space on the controller for the bundle of this host (%d MiB to extract, '
                        '%d MiB free; the join keeps %d MiB free and room for the archive); nothing was extracted'
                        % (host, data // MIB, free // MIB, keep // MIB))


def _unpack(archive, members, hostdir, host):
    """Write every member below the open directory ``hostdir`` through handles."""
    cache = {}

    def directory(parts):
        key = tuple(parts)
        if key not in cache:
            cache.clear()  # members come directory by directory: one open parent at a time
            handle = hostdir
            chain = []
            for part in parts:
                handle = handle.mkdir(part, 0o700)
                chain.append(handle)
            for other in chain[:-1]:
                other.close()
            cache[key] = chain[-1] if chain else None
        return cache[key] or hostdir

    try:
        for rel, member in members:
            parts = rel.split('/')
            if member.isdir():
                directory(parts)
                continue
            parent = directory(parts[:-1])
            fd = parent.create(parts[-1], 0o600)
            try:
                source = archive.extractfile(member)
                out = fsops.SparseWriter(fd)
                for chunk in iter(lambda: source.read(CHUNK), b''):
                    out.write(chunk)
                if out.close() != member.size:
                    raise JoinError('%s: the fetched bundle ends inside a file' % host)
            finally:
                os.close(fd)
    finally:
        for handle in cache.values():
            if handle is not None:
                handle.close()


def extract_bundle(tar_path, dest, request_id, host, manifest_sha256=None, subject_hmac=None,
                   max_size=DEFAULT_MAX_SIZE, ledger=None):
    """Check the fetched bundle of ``host`` (:func:`inspect_bundle`), then unpack it into
    ``dest/<host>`` (created 0700, must not exist). Returns the bundle directory
    (``dest/<host>/<request id>``). ``ledger``: a dict whose ``extracted`` counts the bytes of
    the bundles extracted before (their copy into the archive is still to be written); this
    bundle's are added. Nothing is left in ``dest`` when it refuses or fails."""
    name = host_dirname(host)
    try:
        archive = tarfile.open(tar_path, 'r:gz')
    except (OSError, tarfile.TarError, EOFError) as err:
        raise JoinError('%s: the fetched bundle is not a readable tar.gz (%s)' % (host, type(err).__name__))
    ledger = ledger if ledger is not None else {}
    with archive, _open_dir(dest) as handle:
        if handle.lstat(name) is not None:
            raise JoinError('%s: the staging directory of this host exists already' % host)
        try:
            _manifest, members, data = inspect_bundle(archive, host, request_id, manifest_sha256, subject_hmac,
                                                      max_size)
        except (tarfile.TarError, EOFError, OSError) as err:
            raise JoinError('%s: the fetched bundle cannot be read (%s); nothing was extracted'
                            % (host, type(err).__name__))
        _check_space(handle, host, data, ledger.get('extracted', 0))
        hostdir = handle.mkdir(name, 0o700)
        try:
            with hostdir:
                _unpack(archive, members, hostdir, host)
        except BaseException as err:
            handle.rmtree(name)
            if isinstance(err, (tarfile.TarError, EOFError, OSError)):
                raise JoinError('%s: the fetched bundle cannot be unpacked (%s)' % (host, type(err).__name__))
            raise
    ledger['extracted'] = ledger.get('extracted', 0) + data
    bundle = os.path.join(dest, name, request_id)
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
    listed = check_manifest(manifest, host, request_id, subject_hmac)
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
        raise JoinError('%s: %d file(s) of the bundle are not in manifest.json' % (host, len(extra)))
    for rel, entry in sorted(listed.items()):
        path = os.path.join(bundle, rel)
        if rel not in present:
            raise JoinError('%s: a file is listed in manifest.json but missing' % host)
        size = os.path.getsize(path)
        if entry.get('size') is not None and size != entry.get('size'):
            raise JoinError('%s: a file has another size than manifest.json says' % host)
        if sha256_file(path) != entry.get('sha256'):
            raise JoinError('%s: a file does not match its SHA-256 in manifest.json' % host)
    return manifest


def archive_manifest(request_id, subject_hmac, kind, bundles, created=None):
    """The top-level manifest. ``bundles``: {host: (bundle dir, host manifest, manifest sha256)}."""
    hosts = {}
    totals = {}
    file_count = 0
    total_size = 0
    for host in sorted(bundles):
        _bundle, manifest, msha = bundles[host]
        base = 'hosts/%s' % host_dirname(host)
        stores = stores_summary(manifest.get('stores'))
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


def join(request_id, subject_hmac, kind, fetched, export_dir, staging_dir, force=False,
         max_bundle_size=DEFAULT_MAX_SIZE):
    """Check, unpack, verify and join every host's bundle. ``fetched``: {host: (local tar.gz
    path, manifest sha256 the export returned)}; ``max_bundle_size``: cap on each host
    bundle's files (0: none). The staging directory is removed in every case. Returns
    {archive..., manifest summary}."""
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
        ledger = {'extracted': 0}
        for host in sorted(fetched):
            tar_path, msha = fetched[host]
            if not tar_path or not os.path.isfile(tar_path):
                raise JoinError('%s: the fetched bundle is missing on the controller' % host)
            if not msha:
                raise JoinError('%s: the export returned no manifest checksum' % host)
            bundle = extract_bundle(tar_path, work, request_id, host, msha, subject_hmac, max_bundle_size, ledger)
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
