# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The horde role's effective-configuration check end to end, through ansible-runner on
localhost as root, on a fixture tree that stands for /etc/horde (the role's internal directory
variables pointed at it; the tags of the configuration, IMP and override tasks only, so nothing
outside the tree is touched). Horde's files are never run: a conf.d file with code that would
create files as root stops the role with a message that names the key, the file and the line,
and the files never appear (the PHP probe before ran them as root). The scenario's states are
the Molecule horde scenario's (fixtures of tests/unit/plugins/modules/test_horde_config_info.py)."""

from __future__ import annotations

import json
import os
import sys

import pytest

from e2e_helpers import ROOT, run_playbook, write_yaml

pytest.importorskip('ansible_runner')
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='the role writes backends.local.php as root:root (owner root)')

sys.path.insert(0, os.path.join(ROOT, 'tests', 'unit'))
from horde_fixtures import LOCAL_OVERRIDE, PREPARED, VALUE_MARKER, evil_dropin, write_tree  # noqa: E402  pylint: disable=wrong-import-position

PLAY = [{
    'name': 'Horde profile on a fixture tree',
    'hosts': 'all',
    'gather_facts': False,
    'check_mode': '{{ mailprivacy_check_only | default(false) | bool }}',
    'tasks': [{'name': 'Apply the GDPR profile for Horde', 'ansible.builtin.include_role': {'name': 'mailprivacy.gdpr.horde'},
               'tags': ['always']}],
}]
TAGS = 'horde_config,horde_imp,horde_overrides'


def role(tmp_path, tree, name, **extra):
    playbook = tmp_path / 'horde-fixture.yml'
    if not playbook.exists():
        playbook.write_text(json.dumps(PLAY))
    inventory = tmp_path / 'inventory.ini'
    inventory.write_text('localhost ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable)
    variables = dict({'__horde_config_dir': str(tree / 'horde'), '__horde_imp_config_dir': str(tree / 'imp')}, **extra)
    var_file = write_yaml(tmp_path / ('vars-%s.yml' % name), variables)
    return run_playbook(tmp_path, str(playbook), inventory, [var_file], name=name, tags=TAGS)


def contents(tree):
    return {str(p.relative_to(tree)): p.read_bytes() for p in sorted(tree.rglob('*')) if p.is_file()}


def test_check_then_apply_then_idempotent(tmp_path):
    tree = tmp_path / 'etc-horde'
    write_tree(tree, PREPARED)
    before = contents(tree)
    check = role(tmp_path, tree, 'check', mailprivacy_check_only=True)
    assert check.rc == 0, check.stdout[-4000:]
    assert 'changed=3' in check.stdout, check.stdout[-4000:]
    assert contents(tree) == before
    applied = role(tmp_path, tree, 'apply')
    assert applied.rc == 0, applied.stdout[-4000:]
    text = (tree / 'horde' / 'conf.php').read_text()
    assert "$conf['log']['priority'] = 'WARNING';" in text and "$conf['log']['name'] = LOG_MAIL;" in text
    assert (tree / 'imp' / 'backends.local.php').read_text() == (
        "<?php\n$servers['imap']['debug'] = false;\n$servers['imap']['debug_raw'] = false;\n")
    again = role(tmp_path, tree, 'again')
    assert again.rc == 0 and 'changed=0' in again.stdout, again.stdout[-4000:]


def test_code_in_conf_d_is_not_run_as_root_and_stops_the_role(tmp_path):
    tree = tmp_path / 'etc-horde'
    write_tree(tree, PREPARED)
    markers = [tmp_path / ('pwned-%d' % n) for n in range(4)]
    write_tree(tree, {'horde/conf.d/50-evil.php': evil_dropin(markers)})
    before = contents(tree)
    for name, extra in (('check', {'mailprivacy_check_only': True}), ('apply', {})):
        run = role(tmp_path, tree, name, **extra)
        assert not [marker for marker in markers if marker.exists()], 'the role ran code of a configuration file as root'
        assert run.rc != 0, run.stdout[-4000:]
        assert "cannot be read with certainty without running PHP" in run.stdout
        assert 'horde: log.priority: %s: line 4: only running PHP could tell' % (tree / 'horde' / 'conf.d' / '50-evil.php') in run.stdout
        assert 'horde: log.type: ' in run.stdout
        assert contents(tree) == before  # the role stopped before any change


def test_override_fails_or_warns_and_names_keys_only(tmp_path):
    tree = tmp_path / 'etc-horde'
    write_tree(tree, PREPARED)
    assert role(tmp_path, tree, 'apply').rc == 0
    write_tree(tree, dict([LOCAL_OVERRIDE]))
    run = role(tmp_path, tree, 'override')
    assert run.rc != 0
    assert 'override the GDPR profile' in run.stdout
    for key in ('log.priority', 'log.type', 'log.name'):
        assert 'Horde conf %s' % key in run.stdout
    assert VALUE_MARKER not in run.stdout
    warn = role(tmp_path, tree, 'warn', horde_fail_on_override=False)
    assert warn.rc == 0 and 'WARNING: Other Horde configuration files' in warn.stdout
