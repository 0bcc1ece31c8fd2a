# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a module's ``main()`` in the test process the way Ansible runs it on a target (shared by
the unit tests of the modules)."""

from __future__ import annotations

import json

import pytest

from ansible.module_utils.testing import patch_module_args


def run_main(module, capsys, args, check_mode=False, diff=False):
    """``module.main()`` with ``args`` as its parameters (check and diff mode as asked); the
    result it printed, parsed, and the raw output (for searching it)."""
    args = dict(args)
    args['_ansible_check_mode'] = check_mode
    if diff:
        args['_ansible_diff'] = diff
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    out = capsys.readouterr().out
    return json.loads(out), out
