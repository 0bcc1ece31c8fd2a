"""Make ``ansible_collections.mailprivacy.gdpr`` importable from this checkout, and the shared
test helpers of tests/unit (``fake_runner``) importable from every unit test.

The Makefile links the repository into .build/collections/ansible_collections/mailprivacy/gdpr;
the same is done here so that plain ``pytest tests/unit`` works too.
"""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "mailprivacy", "gdpr")

if not os.path.exists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(ROOT, LINK)
for path in (COLLECTIONS, HERE):
    if path not in sys.path:
        sys.path.insert(0, path)

from fake_runner import FakeRunner  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture
def fake_runner():
    """The FakeRunner class (tests/unit/fake_runner.py): ``fake_runner(tools={...}, ...)``."""
    return FakeRunner
