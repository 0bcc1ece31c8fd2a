# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers of the end-to-end tests: run the collection's playbooks through ansible-runner (the
engine AWX uses), scan everything the run leaves in its artifacts directory, read and verify
the export archive."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tarfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, '.build', 'collections')
LINK = os.path.join(COLLECTIONS, 'ansible_collections', 'mailprivacy', 'gdpr')
PLAYBOOKS = os.path.join(ROOT, 'playbooks')

if not os.path.exists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(ROOT, LINK)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

# a test key, not a secret: passed as an extra-vars file as an operator passes a vault file
HMAC_KEY = 'e2e-test-hmac-key-0123456789abcdef'


class Run(object):
    """The outcome of one ansible-runner run."""

    def __init__(self, runner, private_dir):
        self.runner = runner
        self.rc = runner.rc
        self.status = runner.status
        self.artifact_dir = runner.config.artifact_dir
        self.private_dir = private_dir

    @property
    def stdout(self):
        with open(os.path.join(self.artifact_dir, 'stdout'), encoding='utf-8', errors='replace') as handle:
            return handle.read()

    def events(self):
        return list(self.runner.events)

    def results(self, task_name):
        """event_data.res of every runner_on_ok/failed event of the task named ``task_name``."""
        out = []
        for event in self.events():
            data = event.get('event_data') or {}
            if data.get('task') == task_name and event.get('event', '').startswith('runner_on_'):
                out.append((data.get('host'), event['event'], data.get('res') or {}))
        return out

    def artifact_files(self):
        for root, _dirs, files in os.walk(self.artifact_dir):
            for name in files:
                yield os.path.join(root, name)


def write_yaml(path, data):
    # JSON is YAML: no PyYAML needed to write an extra-vars file
    with open(path, 'w', encoding='utf-8') as handle:
        json.dump(data, handle)
    return str(path)


def run_playbook(tmp_path, playbook, inventory, var_files, verbosity=0, check=False, name='run', limit=None, tags=None):
    """Run ``playbooks/<playbook>`` (or a playbook given by its absolute path) with ansible-runner;
    extra vars come from files (-e @file), the way an operator passes a vault file and a subject
    file; ``tags``: a comma-separated --tags list."""
    import ansible_runner

    private = tmp_path / ('runner-%s' % name)
    private.mkdir()
    cmdline = ' '.join('-e @%s' % f for f in var_files)
    if check:
        cmdline += ' --check'
    if tags:
        cmdline += ' --tags %s' % tags
    envvars = {
        'ANSIBLE_CONFIG': os.path.join(ROOT, 'ansible.cfg'),
        'ANSIBLE_COLLECTIONS_PATH': COLLECTIONS,
        'ANSIBLE_FORCE_COLOR': '0',
        'ANSIBLE_NOCOLOR': '1',
        'MAILPRIVACY_REPORT_DIR': str(tmp_path / 'reports'),
    }
    if os.environ.get('CONTAINERS_CONF'):
        envvars['CONTAINERS_CONF'] = os.environ['CONTAINERS_CONF']
    runner = ansible_runner.run(
        private_data_dir=str(private),
        project_dir=PLAYBOOKS,
        playbook=playbook,
        inventory=str(inventory),
        cmdline=cmdline,
        envvars=envvars,
        verbosity=verbosity,
        limit=limit,
        quiet=True,
        timeout=1800,
    )
    return Run(runner, str(private))


def leaks(paths, forbidden):
    """[(path, value)] for every forbidden value (case-insensitive) found in the files."""
    found = []
    needles = [(v, v.lower().encode('utf-8')) for v in forbidden]
    for path in paths:
        with open(path, 'rb') as handle:
            data = handle.read().lower()
        # JSON may escape non-ASCII characters and slashes
        alt = data.replace(b'\\/', b'/')
        for value, needle in needles:
            if needle in data or needle in alt:
                found.append((path, value))
    return found


def files_under(*dirs):
    for top in dirs:
        for root, _dirs, files in os.walk(str(top)):
            for name in files:
                yield os.path.join(root, name)


def read_archive(path):
    """{member name: bytes} of a tar.gz, plus {member name: mode} and types."""
    contents = {}
    modes = {}
    with tarfile.open(path, 'r:gz') as tar:
        for member in tar:
            modes[member.name] = (member.type, member.mode & 0o7777)
            if member.isfile():
                contents[member.name] = tar.extractfile(member).read()
            else:
                assert member.isdir(), 'the archive holds a link or a device'
    return contents, modes


def verify_archive(contents, request_id):
    """Check SHA256SUMS, the top-level manifest and every host manifest against the files;
    return the top-level manifest."""
    top = request_id + '/'
    manifest = json.loads(contents[top + 'manifest.json'])
    sums = contents[top + 'SHA256SUMS'].decode('utf-8').splitlines()
    listed = {}
    for line in sums:
        digest, rel = line.split('  ', 1)
        listed[rel] = digest
        assert hashlib.sha256(contents[top + rel]).hexdigest() == digest, rel
    data_files = set(n[len(top):] for n in contents) - {'manifest.json', 'README.md', 'SHA256SUMS'}
    assert data_files == set(listed), 'SHA256SUMS does not cover exactly the data files'
    for host, entry in manifest['hosts'].items():
        host_manifest_raw = contents[top + entry['manifest']]
        assert hashlib.sha256(host_manifest_raw).hexdigest() == entry['manifest_sha256']
        host_manifest = json.loads(host_manifest_raw)
        assert host_manifest['request_id'] == request_id
        assert host_manifest['subject_hmac'] == manifest['subject_hmac']
        for item in host_manifest['files']:
            data = contents['%shosts/%s/%s' % (top, host, item['path'])]
            assert hashlib.sha256(data).hexdigest() == item['sha256'] and len(data) == item['size']
    return manifest


def audit_records(audit_dir):
    with open(os.path.join(str(audit_dir), 'audit.jsonl'), encoding='utf-8') as handle:
        return [json.loads(line) for line in handle if line.strip()]
