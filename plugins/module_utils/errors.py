# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The stores' error class, in a module of its own that imports nothing, so that the modules
below the stores (bundle) can raise it without importing store_base (which imports them).
Import it from store_base as before; both names are the same class."""

from __future__ import annotations


class StoreError(Exception):
    """A store cannot do what was asked. The message holds no personal data."""
