"""Make ``ansible_collections.mailprivacy.gdpr`` importable from this checkout.

The Makefile links the repository into .build/collections/ansible_collections/mailprivacy/gdpr;
the same is done here so that plain ``pytest tests/unit`` works too.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "mailprivacy", "gdpr")

if not os.path.exists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(ROOT, LINK)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
