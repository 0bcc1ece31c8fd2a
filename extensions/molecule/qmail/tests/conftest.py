# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The qmail scenario's verifier: the helpers shared by every scenario (../../shared) on sys.path."""

from __future__ import annotations

import pathlib
import sys

# the helpers shared by every scenario's verifier (verify_helpers, live_redaction)
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))
