# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures of the end-to-end tests (helpers in e2e_helpers.py)."""

from __future__ import annotations

import pytest

from e2e_helpers import HMAC_KEY, write_yaml


@pytest.fixture
def key_file(tmp_path):
    """The HMAC key as an extra-vars file, as an operator passes a vault file (not a secret)."""
    return write_yaml(tmp_path / 'vault-free-key.yml', {'gdpr_hmac_key': HMAC_KEY})
