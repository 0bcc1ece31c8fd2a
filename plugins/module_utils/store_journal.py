# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The systemd journal store: read through ``journalctl``, erased by rewriting the journal files
(store_journal_rewrite) or by journald's retention (store_journal_retention)."""

from __future__ import annotations

import os

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.bundle import LazyExtract
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.log_engine import (
    CHUNK,
    LineMatcher,
    iter_regions,
    iter_stream_chunks,
    write_hit_lines,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import Option, Store, StoreError
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_journal_retention import journal_erase_step
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_journal_rewrite import (
    MAX_ROTATIONS,
    JournalRewriter,
    entry_json,
    find_remote,
    is_active,
    iter_classified,
    journal_files,
)


class JournalStore(Store):
    """The systemd journal, read through ``journalctl`` (``-o short-iso``; the export also
    writes every entry whose fields carry the subject with all its fields, from ``-o export``)."""

    name = 'journal'
    units = 'entries'
    OPTIONS = {
        'journalctl': Option('journalctl', 'str', 'The C(journalctl) command.'),
        'args': Option([], 'list', 'Extra arguments of C(journalctl), such as C([--since, 2024-01-01]).', elements='str'),
        'directories': Option(['/var/log/journal', '/run/log/journal'], 'list',
                              'Journal directories: the store is available when one exists; the erasure rewrites the '
                              'journal files under them.', elements='str'),
        'chunk_size': Option(CHUNK, 'int', "Bytes per read of C(journalctl)'s output (64 KiB to 256 MiB)."),
        # erase: rewrite the journal files without the subject's entries (needs
        # systemd-journal-remote); false leaves them to journald's retention (a manual step)
        'rewrite': Option(True, 'bool', "The erasure rewrites the journal files without the subject's entries through "
                          'C(systemd-journal-remote) (active files are rotated first). V(false) leaves them to '
                          "journald's retention, with a manual step that says by when they are gone."),
        'journal_remote': Option('', 'str', 'The C(systemd-journal-remote) command; empty: found in C(/lib/systemd) '
                                 'or C(/usr/lib/systemd).'),
        # export: also write the subject's entries with every field (journal-entries.jsonl), so
        # that identifiers in fields journalctl does not show (_CMDLINE, USER_ID, ...) are exported
        'export_entries': Option(True, 'bool', 'The export also writes C(journal/journal-entries.jsonl): every entry one '
                                 'of whose fields carries an identifier, with all its fields as C(journalctl -o json) '
                                 'shows them, including fields the text lines do not show such as C(_CMDLINE).'),
    }

    def __init__(self, options=None, runner=None):
        super(JournalStore, self).__init__(options, runner)
        for arg in self.options['args']:
            if not isinstance(arg, str) or '\x00' in arg:
                raise StoreError('journal: option args must be a list of strings')
        if not 64 * 1024 <= self.options['chunk_size'] <= 256 * 1024 * 1024:
            raise StoreError('journal: option chunk_size must be between 64 KiB and 256 MiB')

    def _journalctl(self):
        return self.runner.which(self.options['journalctl'])

    def available(self):
        if not self._journalctl():
            return False, 'journalctl not found'
        if not any(os.path.isdir(d) for d in self.options['directories']):
            return False, 'no journal directory'
        return True, ''

    def argv(self, output='short-iso'):
        return [self._journalctl(), '--no-pager', '--quiet', '--output=' + output] + list(self.options['args'])

    def _regions(self, matcher):
        with self.runner.stream(self.argv()) as handle:
            yield from iter_regions(iter_stream_chunks(handle, self.options['chunk_size']), matcher)

    def locate(self, subject):
        ok, why = self.available()
        if not ok:
            return self.unavailable(why)
        matcher = LineMatcher(subject)
        res = self.result(detail={'journal': 0})
        count = 0
        for _buf, _start, _end, hits in self._regions(matcher):
            count += len(hits)
        res.add('journal', count)
        return res

    def export(self, subject, bundle_dir):
        ok, why = self.available()
        if not ok:
            return self.unavailable(why)
        matcher = LineMatcher(subject)
        res = self.result(detail={'journal': 0})
        out = LazyExtract(self, bundle_dir, 'journal.txt')
        count = 0
        try:
            for written in write_hit_lines(self._regions(matcher), out.write):
                count += written
            out.close()
        except BaseException:
            out.abort()
            raise
        res.add('journal', count)
        if out.target is not None:
            res['files'].append(out.entry('journal', count))
        if self.options['export_entries']:
            self._export_entries(matcher, bundle_dir, res)
        return res

    def _export_entries(self, matcher, bundle_dir, res):
        """journal-entries.jsonl: every entry one of whose field values carries an identifier
        (the entries an erasure removes), with all fields, one JSON object a line."""
        argv = self.argv(output='export')
        out = LazyExtract(self, bundle_dir, 'journal-entries.jsonl')
        entries = 0
        try:
            with self.runner.stream(argv) as handle:
                for fields, hit in iter_classified(handle, matcher):
                    if hit:
                        out.write(entry_json(fields))
                        entries += 1
            out.close()
        except BaseException:
            out.abort()
            raise
        if out.target is not None:
            res['files'].append(out.entry('journal-entries', entries))

    def erase(self, subject, check_mode):
        """Rewrite the journal files without the subject's entries (store_journal_rewrite):
        active files are rotated first, sealed or still-online files are left with a manual
        step. Without systemd-journal-remote, or with ``rewrite: false``, nothing is erased and
        the result carries a manual step with the date by which journald's retention removes
        the entries. ``found`` counts the lines journalctl shows; ``erased`` the entries
        removed, whose identifiers may also sit in fields journalctl does not show."""
        found = self.locate(subject)
        remote = find_remote(self.options['journal_remote'], self.runner.which)
        if not self.options['rewrite'] or not remote:
            res = journal_erase_step(self.runner, found)
            if found.get('found') and self.options['rewrite']:
                res['manual_steps'].append(
                    'journal: systemd-journal-remote is not installed, so the journal files cannot be '
                    'rewritten without these entries: install it (the mailprivacy.gdpr.mail_logging role '
                    'does with mail_logging_journal_rewrite_tool: true) and run the erasure again')
            return res
        rewriter = JournalRewriter(self.runner, self._journalctl(), remote, LineMatcher(subject))
        res = self.result(found=found.get('found', 0), detail=dict(found.get('detail') or {'journal': 0}),
                          erased=0, manual_steps=[])
        directories = self.options['directories']
        rewriter.sync()
        if check_mode:
            res['erased'] = sum(rewriter.count(path) for path in journal_files(directories))
            return res
        # a real run reads each file fully once more (the rewrite classifies every entry), so
        # here only the fast pre-check: does the file's stream hold an identifier at all?
        flagged = [path for path in journal_files(directories) if rewriter.may_hold(path)]
        erased = 0
        left = {'sealed': 0, 'online': 0, 'refused': 0}
        done = set()
        rotations = 0
        while True:
            erased += self._rewrite_archived(rewriter, flagged, left)
            done.update(path for path in flagged if not is_active(path))
            active = [path for path in flagged if is_active(path)]
            if not active:
                break
            if rotations == MAX_ROTATIONS:
                # still arriving after the last rotation: someone keeps logging the subject
                left['online'] += sum(rewriter.count(path) for path in active)
                break
            rewriter.rotate()
            rotations += 1
            rewriter.sync()
            # only the files the rotation made (and the new active ones) can hold new hits
            flagged = [path for path in journal_files(directories)
                       if path not in done and rewriter.may_hold(path)]
        res['erased'] = erased
        if left['sealed']:
            res['manual_steps'].append(
                'journal: %d entries sit in sealed journal files (Forward Secure Sealing), which are '
                'not rewritten because the copy could not carry the seal: they expire with journald\'s '
                'retention' % left['sealed'])
        if left['online']:
            res['manual_steps'].append(
                'journal: %d entries sit in a journal file journald still writes (logged after the '
                'rotation): run the erasure again' % left['online'])
        if left['refused']:
            res['reason'] = ('%d entries are in journal files whose rewrite was refused (the copy did not '
                             'read back identical, or the file changed); those files are kept' % left['refused'])
        return res

    def _rewrite_archived(self, rewriter, flagged, left):
        """Rewrite the archived files of ``flagged`` (those whose stream may hold the subject);
        the entries dropped. The subject's entries in sealed, still-online and refused files are
        counted in ``left``."""
        erased = 0
        for top in self.options['directories']:
            todo = [p for p in sorted(flagged) if not is_active(p) and p.startswith(top.rstrip('/') + '/')]
            if not todo:
                continue
            tmpdir = rewriter.temp_dir(top)
            lock = rewriter.lock(tmpdir)
            try:
                rewriter.remove_stale(tmpdir)
                for path in todo:
                    header = rewriter.header(path)
                    if header['sealed']:
                        left['sealed'] += rewriter.count(path)
                    elif header['state'] == 'ONLINE':
                        left['online'] += rewriter.count(path)
                    else:
                        try:
                            erased += rewriter.rewrite(path, tmpdir)
                        except StoreError:
                            left['refused'] += rewriter.count(path)
            finally:
                os.close(lock)
        return erased
