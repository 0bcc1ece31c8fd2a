# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the Horde SQL store.

The SQLite fixture uses Horde's real table definitions: the statements below are the schema
that ``horde-db-migrate`` (php-horde 5.2.23 and its applications on Debian bookworm) created
in an SQLite database, copied verbatim for the tables the tests use."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import StoreError
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_horde import (
    HordeSqlStore,
    sql_settings,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject

from fake_runner import FakeRunner

HORDE_SCHEMA = """
CREATE TABLE IF NOT EXISTS "imp_sentmail" (
  "sentmail_id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL NOT NULL,
  "sentmail_who" varchar(255) NOT NULL,
  "sentmail_ts" int NOT NULL,
  "sentmail_messageid" varchar(255) NOT NULL,
  "sentmail_action" varchar(32) NOT NULL,
  "sentmail_recipient" varchar(255) NOT NULL,
  "sentmail_success" int NOT NULL
);

CREATE TABLE IF NOT EXISTS "ingo_forwards" (
  "forward_owner" varchar(255) NOT NULL,
  "forward_addresses" text,
  "forward_keep" int NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS "ingo_vacations" (
  "vacation_owner" varchar(255) NOT NULL,
  "vacation_addresses" text,
  "vacation_subject" varchar(255),
  "vacation_reason" text,
  "vacation_days" int DEFAULT 7,
  "vacation_start" int,
  "vacation_end" int,
  "vacation_excludes" text,
  "vacation_ignorelists" int DEFAULT 1,
  PRIMARY KEY("vacation_owner")
);

CREATE TABLE IF NOT EXISTS "ingo_rules" (
  "rule_id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL NOT NULL,
  "rule_owner" varchar(255) NOT NULL,
  "rule_name" varchar(255) NOT NULL,
  "rule_action" int NOT NULL,
  "rule_value" varchar(255),
  "rule_flags" int,
  "rule_conditions" text,
  "rule_combine" int,
  "rule_stop" int,
  "rule_active" int NOT NULL DEFAULT 1,
  "rule_order" int NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS "kronolith_events" (
  "event_id" varchar(32) NOT NULL,
  "event_uid" varchar(255) NOT NULL,
  "calendar_id" varchar(255) NOT NULL,
  "event_creator_id" varchar(255) NOT NULL,
  "event_description" text,
  "event_location" text,
  "event_status" int DEFAULT 0,
  "event_attendees" text,
  "event_keywords" text,
  "event_exceptions" text,
  "event_title" varchar(255),
  "event_category" varchar(80),
  "event_recurtype" int DEFAULT 0,
  "event_recurinterval" int,
  "event_recurdays" int,
  "event_recurenddate" datetime,
  "event_recurcount" int,
  "event_start" datetime,
  "event_end" datetime,
  "event_alarm" int DEFAULT 0,
  "event_modified" int DEFAULT 0,
  "event_private" int NOT NULL DEFAULT 0,
  "event_allday" int DEFAULT 0,
  "event_alarm_methods" text,
  "event_url" text,
  "event_baseid" varchar(255) DEFAULT '',
  "event_exceptionoriginaldate" datetime,
  "event_resources" text,
  PRIMARY KEY("event_id")
);

CREATE TABLE IF NOT EXISTS "kronolith_events_geo" (
  "event_id" varchar(32) NOT NULL,
  "event_lat" varchar(32) NOT NULL,
  "event_lon" varchar(32) NOT NULL, "event_zoom" int NOT NULL DEFAULT 0,
  PRIMARY KEY("event_id")
);

CREATE TABLE IF NOT EXISTS "kronolith_sharesng" (
  "share_id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  "share_name" varchar(255) NOT NULL,
  "share_owner" varchar(255),
  "share_flags" int NOT NULL DEFAULT 0,
  "perm_creator_2" boolean NOT NULL DEFAULT 0,
  "perm_creator_4" boolean NOT NULL DEFAULT 0,
  "perm_creator_8" boolean NOT NULL DEFAULT 0,
  "perm_creator_16" boolean NOT NULL DEFAULT 0,
  "perm_creator_1024" boolean NOT NULL DEFAULT 0,
  "perm_default_2" boolean NOT NULL DEFAULT 0,
  "perm_default_4" boolean NOT NULL DEFAULT 0,
  "perm_default_8" boolean NOT NULL DEFAULT 0,
  "perm_default_16" boolean NOT NULL DEFAULT 0,
  "perm_default_1024" boolean NOT NULL DEFAULT 0,
  "perm_guest_2" boolean NOT NULL DEFAULT 0,
  "perm_guest_4" boolean NOT NULL DEFAULT 0,
  "perm_guest_8" boolean NOT NULL DEFAULT 0,
  "perm_guest_16" boolean NOT NULL DEFAULT 0,
  "perm_guest_1024" boolean NOT NULL DEFAULT 0,
  "attribute_name" varchar(255) NOT NULL,
  "attribute_desc" varchar(255),
  "attribute_color" varchar(7)
, "share_parents" text);

CREATE TABLE IF NOT EXISTS "turba_sharesng" (
  "share_id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  "share_name" varchar(255) NOT NULL,
  "share_owner" varchar(255),
  "share_flags" int NOT NULL DEFAULT 0,
  "perm_creator_2" boolean NOT NULL DEFAULT 0,
  "perm_creator_4" boolean NOT NULL DEFAULT 0,
  "perm_creator_8" boolean NOT NULL DEFAULT 0,
  "perm_creator_16" boolean NOT NULL DEFAULT 0,
  "perm_default_2" boolean NOT NULL DEFAULT 0,
  "perm_default_4" boolean NOT NULL DEFAULT 0,
  "perm_default_8" boolean NOT NULL DEFAULT 0,
  "perm_default_16" boolean NOT NULL DEFAULT 0,
  "perm_guest_2" boolean NOT NULL DEFAULT 0,
  "perm_guest_4" boolean NOT NULL DEFAULT 0,
  "perm_guest_8" boolean NOT NULL DEFAULT 0,
  "perm_guest_16" boolean NOT NULL DEFAULT 0,
  "attribute_name" varchar(255) NOT NULL,
  "attribute_desc" varchar(255),
  "attribute_params" text
, "share_parents" text);

CREATE TABLE IF NOT EXISTS "turba_sharesng_users" (
  "share_id" int NOT NULL,
  "user_uid" varchar(255) NOT NULL,
  "perm_2" boolean NOT NULL DEFAULT 0,
  "perm_4" boolean NOT NULL DEFAULT 0,
  "perm_8" boolean NOT NULL DEFAULT 0,
  "perm_16" boolean NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS "turba_objects" (
  "object_id" varchar(32) NOT NULL,
  "owner_id" varchar(255) NOT NULL,
  "object_type" varchar(255) NOT NULL DEFAULT 'Object',
  "object_uid" varchar(255),
  "object_members" text,
  "object_firstname" varchar(255),
  "object_lastname" varchar(255),
  "object_middlenames" varchar(255),
  "object_nameprefix" varchar(32),
  "object_namesuffix" varchar(32),
  "object_alias" varchar(32),
  "object_photo" blob,
  "object_phototype" varchar(10),
  "object_bday" varchar(10),
  "object_homestreet" varchar(255),
  "object_homepob" varchar(10),
  "object_homecity" varchar(255),
  "object_homeprovince" varchar(255),
  "object_homepostalcode" varchar(10),
  "object_homecountry" varchar(255),
  "object_workstreet" varchar(255),
  "object_workpob" varchar(10),
  "object_workcity" varchar(255),
  "object_workprovince" varchar(255),
  "object_workpostalcode" varchar(10),
  "object_workcountry" varchar(255),
  "object_tz" varchar(32),
  "object_geo" varchar(255),
  "object_email" varchar(255),
  "object_homephone" varchar(25),
  "object_workphone" varchar(25),
  "object_cellphone" varchar(25),
  "object_fax" varchar(25),
  "object_pager" varchar(25),
  "object_title" varchar(255),
  "object_role" varchar(255),
  "object_logo" blob,
  "object_logotype" varchar(10),
  "object_company" varchar(255),
  "object_category" varchar(80),
  "object_notes" text,
  "object_url" varchar(255),
  "object_freebusyurl" varchar(255),
  "object_pgppublickey" text,
  "object_smimepublickey" text,
  "object_anniversary" varchar(10),
  "object_department" varchar(255),
  "object_spouse" varchar(255),
  "object_homefax" varchar(25),
  "object_nickname" varchar(255),
  "object_assistantphone" varchar(25),
  "object_imaddress" varchar(255),
  "object_imaddress2" varchar(255),
  "object_imaddress3" varchar(255),
  "object_homephone2" varchar(25),
  "object_carphone" varchar(25),
  "object_workphone2" varchar(25),
  "object_radiophone" varchar(25),
  "object_companyphone" varchar(25),
  "object_otherstreet" varchar(255),
  "object_otherpob" varchar(10),
  "object_othercity" varchar(255),
  "object_otherprovince" varchar(255),
  "object_otherpostalcode" varchar(10),
  "object_othercountry" varchar(255),
  "object_yomifirstname" varchar(255),
  "object_yomilastname" varchar(255),
  "object_manager" varchar(255)
, "object_assistant" varchar(255), "object_workemail" varchar(255), "object_homeemail" varchar(255));

CREATE TABLE IF NOT EXISTS "nag_tasks" (
  "task_id" varchar(32) NOT NULL,
  "task_owner" varchar(255) NOT NULL,
  "task_creator" varchar(255) NOT NULL,
  "task_parent" varchar(255),
  "task_assignee" varchar(255),
  "task_name" varchar(255) NOT NULL,
  "task_uid" varchar(255) NOT NULL,
  "task_desc" text,
  "task_start" int,
  "task_due" int,
  "task_priority" int NOT NULL DEFAULT 0,
  "task_estimate" float,
  "task_category" varchar(80),
  "task_completed" int(1) NOT NULL DEFAULT 0,
  "task_completed_date" int,
  "task_alarm" int NOT NULL DEFAULT 0,
  "task_alarm_methods" text,
  "task_private" int(1) NOT NULL DEFAULT 0,
  "task_recurtype" int DEFAULT 0,
  "task_recurinterval" int,
  "task_recurdays" int,
  "task_recurenddate" datetime,
  "task_recurcount" int,
  "task_exceptions" text,
  "task_completions" text,
  PRIMARY KEY("task_id")
);

CREATE TABLE IF NOT EXISTS "nag_sharesng" (
  "share_id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  "share_name" varchar(255) NOT NULL,
  "share_owner" varchar(255),
  "share_flags" int NOT NULL DEFAULT 0,
  "perm_creator_2" boolean NOT NULL DEFAULT 0,
  "perm_creator_4" boolean NOT NULL DEFAULT 0,
  "perm_creator_8" boolean NOT NULL DEFAULT 0,
  "perm_creator_16" boolean NOT NULL DEFAULT 0,
  "perm_default_2" boolean NOT NULL DEFAULT 0,
  "perm_default_4" boolean NOT NULL DEFAULT 0,
  "perm_default_8" boolean NOT NULL DEFAULT 0,
  "perm_default_16" boolean NOT NULL DEFAULT 0,
  "perm_guest_2" boolean NOT NULL DEFAULT 0,
  "perm_guest_4" boolean NOT NULL DEFAULT 0,
  "perm_guest_8" boolean NOT NULL DEFAULT 0,
  "perm_guest_16" boolean NOT NULL DEFAULT 0,
  "attribute_name" varchar(255) NOT NULL,
  "attribute_desc" varchar(255),
  "attribute_color" varchar(7)
, "share_parents" text);

CREATE TABLE IF NOT EXISTS "mnemo_memos" (
  "memo_owner" varchar(255) NOT NULL,
  "memo_id" varchar(32) NOT NULL,
  "memo_uid" varchar(255) NOT NULL,
  "memo_desc" varchar(64) NOT NULL,
  "memo_body" text,
  "memo_category" varchar(80),
  "memo_private" int NOT NULL DEFAULT 0,
  PRIMARY KEY("memo_owner", "memo_id")
);

CREATE TABLE IF NOT EXISTS "mnemo_sharesng" (
  "share_id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  "share_name" varchar(255) NOT NULL,
  "share_owner" varchar(255),
  "share_flags" int NOT NULL DEFAULT 0,
  "perm_creator_2" boolean NOT NULL DEFAULT 0,
  "perm_creator_4" boolean NOT NULL DEFAULT 0,
  "perm_creator_8" boolean NOT NULL DEFAULT 0,
  "perm_creator_16" boolean NOT NULL DEFAULT 0,
  "perm_default_2" boolean NOT NULL DEFAULT 0,
  "perm_default_4" boolean NOT NULL DEFAULT 0,
  "perm_default_8" boolean NOT NULL DEFAULT 0,
  "perm_default_16" boolean NOT NULL DEFAULT 0,
  "perm_guest_2" boolean NOT NULL DEFAULT 0,
  "perm_guest_4" boolean NOT NULL DEFAULT 0,
  "perm_guest_8" boolean NOT NULL DEFAULT 0,
  "perm_guest_16" boolean NOT NULL DEFAULT 0,
  "attribute_name" varchar(255) NOT NULL,
  "attribute_desc" varchar(255)
, "share_parents" text);

CREATE TABLE IF NOT EXISTS "horde_alarms" (
  "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  "alarm_id" varchar(255) NOT NULL,
  "alarm_uid" varchar(255),
  "alarm_start" datetime NOT NULL,
  "alarm_end" datetime,
  "alarm_methods" varchar(255),
  "alarm_params" text,
  "alarm_title" varchar(255) NOT NULL,
  "alarm_text" text,
  "alarm_snooze" datetime,
  "alarm_dismissed" int(1) NOT NULL DEFAULT 0,
  "alarm_internal" text
, "alarm_instanceid" varchar(255));

CREATE TABLE IF NOT EXISTS "horde_users" (
  "user_uid" varchar(255) NOT NULL,
  "user_pass" varchar(255) NOT NULL,
  "user_soft_expiration_date" int,
  "user_hard_expiration_date" int,
  PRIMARY KEY("user_uid")
);

CREATE TABLE IF NOT EXISTS "horde_groups_members" (
  "group_uid" int NOT NULL,
  "user_uid" varchar(255) NOT NULL
);

CREATE TABLE IF NOT EXISTS "horde_histories" (
  "history_id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL NOT NULL,
  "object_uid" varchar(255) NOT NULL,
  "history_action" varchar(32) NOT NULL,
  "history_ts" int NOT NULL,
  "history_desc" text,
  "history_who" varchar(255),
  "history_extra" text
, "history_modseq" int NOT NULL DEFAULT 0);

CREATE TABLE IF NOT EXISTS "horde_imap_client_data" (
  "messageid" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  "hostspec" varchar(255) NOT NULL,
  "mailbox" varchar(255) NOT NULL,
  "modified" bigint,
  "port" int NOT NULL,
  "username" varchar(255) NOT NULL
);

CREATE TABLE IF NOT EXISTS "horde_imap_client_message" (
  "data" blob,
  "msguid" varchar(255) NOT NULL,
  "messageid" bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS "horde_prefs" (
  "pref_uid" varchar(255) NOT NULL,
  "pref_scope" varchar(16) NOT NULL DEFAULT '',
  "pref_name" varchar(32) NOT NULL,
  "pref_value" blob
);
"""

SEED = [
    ("horde_prefs", ("ann@example.org", "horde", "fullname", b"Ann A")),
    ("horde_prefs", ("ann@example.org", "horde", "identities", b"\x80\x81 serialized")),
    ("horde_prefs", ("bob@example.org", "horde", "fullname", b"Bob B")),
    ("horde_prefs", ("joann@example.org", "horde", "fullname", b"Jo")),
    ("horde_prefs", ("ann@example.org.evil", "horde", "fullname", b"Evil")),
    ("horde_prefs", ("ann", "horde", "fullname", b"Local ann")),
    ("horde_users", ("ann@example.org", "$2y$hash-of-ann", None, None)),
    ("horde_users", ("bob@example.org", "$2y$hash-of-bob", None, None)),
]


def seed(path):
    conn = sqlite3.connect(path)
    conn.executescript(HORDE_SCHEMA)
    for table, values in SEED:
        conn.execute('INSERT INTO %s VALUES (%s)' % (table, ','.join('?' * len(values))), values)
    ins = conn.execute
    for user, tag in (('ann@example.org', 'ann'), ('bob@example.org', 'bob'),
                      ('joann@example.org', 'joann')):
        for app in ('turba', 'kronolith', 'nag', 'mnemo'):
            ins('INSERT INTO %s_sharesng (share_name, share_owner, attribute_name) VALUES (?, ?, ?)' % app,
                ('%s-%s' % (app, tag), user, 'Default'))
        ins("INSERT INTO turba_objects (object_id, owner_id, object_email, object_lastname) VALUES (?,?,?,?)",
            ('o-' + tag, 'turba-' + tag, 'friend@example.net', 'Friend of ' + tag))
        ins("INSERT INTO kronolith_events (event_id, event_uid, calendar_id, event_creator_id, event_title) "
            "VALUES (?,?,?,?,?)", ('e-' + tag, 'eu-' + tag, 'kronolith-' + tag, user, 'Dentist'))
        ins("INSERT INTO kronolith_events_geo VALUES (?, '1', '2', 0)", ('e-' + tag,))
        ins("INSERT INTO nag_tasks (task_id, task_owner, task_creator, task_name, task_uid) VALUES (?,?,?,?,?)",
            ('t-' + tag, 'nag-' + tag, user, 'Buy milk', 'tu-' + tag))
        ins("INSERT INTO mnemo_memos (memo_owner, memo_id, memo_uid, memo_desc, memo_body) VALUES (?,?,?,?,?)",
            ('mnemo-' + tag, 'm-' + tag, 'mu-' + tag, 'Note', 'body'))
        ins("INSERT INTO ingo_rules (rule_owner, rule_name, rule_action, rule_value) VALUES (?,?,1,'x')",
            (user, 'Spam'))
        ins("INSERT INTO ingo_forwards VALUES (?, 'fw@example.net', 1)", (user,))
        ins("INSERT INTO imp_sentmail (sentmail_who, sentmail_ts, sentmail_messageid, sentmail_action, "
            "sentmail_recipient, sentmail_success) VALUES (?, 1700000000, '<m@x>', 'new', 'x@example.net', 1)",
            (user,))
        ins("INSERT INTO horde_histories (object_uid, history_action, history_ts, history_who) VALUES (?,?,?,?)",
            ('kronolith:kronolith-%s:eu-%s' % (tag, tag), 'add', 1700000000, user))
        ins("INSERT INTO horde_alarms (alarm_id, alarm_uid, alarm_start, alarm_title) VALUES (?,?,?,?)",
            ('a-' + tag, user, '2024-01-01 09:00:00', 'Dentist'))
        ins("INSERT INTO horde_imap_client_data (hostspec, mailbox, modified, port, username) "
            "VALUES ('localhost', 'INBOX', 1, 143, ?)", (user,))
        ins("INSERT INTO horde_imap_client_message (data, msguid, messageid) "
            "SELECT 'cached', '1', messageid FROM horde_imap_client_data WHERE username = ?", (user,))
    # bob edited an event in ann's calendar: the history entry is about ann's object
    ins("INSERT INTO horde_histories (object_uid, history_action, history_ts, history_who) VALUES (?,?,?,?)",
        ('kronolith:kronolith-ann:eu-ann', 'modify', 1700000001, 'bob@example.org'))
    # ann has read access to bob's address book: her permission row, not bob's data
    ins("INSERT INTO turba_sharesng_users (share_id, user_uid, perm_2) "
        "SELECT share_id, 'ann@example.org', 1 FROM turba_sharesng WHERE share_name = 'turba-bob'")
    # bob has access to ann's address book: goes with ann's share
    ins("INSERT INTO turba_sharesng_users (share_id, user_uid, perm_2) "
        "SELECT share_id, 'bob@example.org', 1 FROM turba_sharesng WHERE share_name = 'turba-ann'")
    conn.commit()
    conn.close()


ANN_EXPECTED = {
    'horde_prefs': 2, 'horde_users': 1, 'turba_sharesng': 1, 'kronolith_sharesng': 1,
    'nag_sharesng': 1, 'mnemo_sharesng': 1, 'turba_objects': 1, 'kronolith_events': 1,
    'kronolith_events_geo': 1, 'nag_tasks': 1, 'mnemo_memos': 1, 'ingo_rules': 1, 'ingo_forwards': 1,
    'imp_sentmail': 1, 'horde_histories': 2, 'horde_alarms': 1, 'horde_imap_client_data': 1,
    'horde_imap_client_message': 1, 'turba_sharesng_users': 2,
}


@pytest.fixture
def horde(tmp_path):
    db = str(tmp_path / 'horde.db')
    seed(db)
    conf = tmp_path / 'conf.php'
    conf.write_text("<?php\n$conf['sql']['database'] = '%s';\n$conf['sql']['phptype'] = 'sqlite';\n" % db)
    return tmp_path


def store(tmp, runner=None, **opts):
    options = {'conf_php': str(tmp / 'conf.php'), 'remove_user_data': ''}
    options.update(opts)
    return HordeSqlStore(options, runner or FakeRunner())


def dump(db):
    """Every row of every table, as sorted reprs."""
    conn = sqlite3.connect(db)
    out = {}
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name != 'sqlite_sequence'"):
        out[table] = sorted(repr(r) for r in conn.execute('SELECT * FROM "%s"' % table))
    conn.close()
    return out


def file_hash(path):
    with open(path, 'rb') as fh:
        return hashlib.sha256(fh.read()).hexdigest()


ANN = dict(addresses=['ann@example.org'])


def test_locate_counts_rows_by_table(horde):
    res = store(horde).locate(Subject.from_params(**ANN))
    assert res['units'] == 'rows'
    assert res['detail'] == ANN_EXPECTED
    assert res['found'] == sum(ANN_EXPECTED.values())
    assert 'ann@' not in json.dumps(res) and 'example' not in json.dumps(res)


def test_lookalikes_and_other_users_are_not_counted(horde):
    assert store(horde).locate(Subject.from_params(addresses=['nn@example.org']))['found'] == 0
    assert store(horde).locate(Subject.from_params(addresses=['ann@example.com']))['found'] == 0
    # the login 'ann' is a different Horde user id with one pref row
    assert store(horde).locate(Subject.from_params(logins=['ann']))['found'] == 1


def test_export_rows_as_json(horde, tmp_path):
    bundle = tmp_path / 'bundle'
    bundle.mkdir()
    res = store(horde).export(Subject.from_params(**ANN), str(bundle))
    assert res['found'] == sum(ANN_EXPECTED.values())
    names = sorted(f['path'] for f in res['files'])
    assert names == sorted('horde_sql/%s.json' % t for t in ANN_EXPECTED)
    for entry in res['files']:
        path = bundle / entry['path']
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry['sha256']
        assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
        assert entry['count'] == ANN_EXPECTED[entry['path'][10:-5]]
    prefs = json.loads((bundle / 'horde_sql' / 'horde_prefs.json').read_text())['rows']
    values = sorted(json.dumps(r['pref_value']) for r in prefs)
    assert values == sorted([json.dumps('Ann A'), json.dumps({'base64': 'gIEgc2VyaWFsaXplZA=='})])
    users = (bundle / 'horde_sql' / 'horde_users.json').read_text()
    assert 'hash-of-ann' not in users
    alltext = ''.join((bundle / f['path']).read_text() for f in res['files'])
    assert 'joann' not in alltext and 'evil' not in alltext and 'Local ann' not in alltext
    objects = json.loads((bundle / 'horde_sql' / 'turba_objects.json').read_text())['rows']
    assert [o['object_lastname'] for o in objects] == ['Friend of ann']


def test_erase_check_mode_touches_nothing(horde):
    db = str(horde / 'horde.db')
    before = file_hash(db)
    res = store(horde).erase(Subject.from_params(**ANN), check_mode=True)
    assert res['found'] == res['erased'] == sum(ANN_EXPECTED.values())
    assert file_hash(db) == before


def test_erase_direct_removes_every_row_of_the_subject_and_nothing_else(horde):
    db = str(horde / 'horde.db')
    before = dump(db)
    res = store(horde).erase(Subject.from_params(**ANN), check_mode=False)
    assert res['found'] == res['erased'] == sum(ANN_EXPECTED.values())
    assert res['detail']['remaining'] == 0 and res['detail']['remove_user_data_missing'] == 1
    after = dump(db)
    for table, rows in before.items():
        removed = set(rows) - set(after[table])
        assert len(removed) == ANN_EXPECTED.get(table, 0), table
        assert set(after[table]) <= set(rows)          # nothing changed or added
        for row in removed:
            # ann's rows, bob's permission row on ann's address book (share_id 1), the IMAP
            # cache row of ann's cache entry (messageid 1) and the geo row of ann's event
            assert 'ann' in row or row in ("(1, 'bob@example.org', 1, 0, 0, 0)",
                                           "('cached', '1', 1)"), (table, row)
        for row in after[table]:
            assert "'ann@example.org'" not in row, (table, row)
    # joann, bob, ann@example.org.evil and the login 'ann' are intact
    for table in before:
        for row in before[table]:
            if 'joann' in row or 'evil' in row or "'ann'," in row:
                assert row in after[table]
    assert store(horde).locate(Subject.from_params(**ANN))['found'] == 0


def fake_remove_user_data(db):
    """What horde-remove-user-data 5.2.23 did on bookworm (seen on a real install): prefs, nag,
    mnemo, ingo and the shares of those apps go; kronolith fails (exit 1); imp_sentmail,
    horde_histories, horde_alarms stay; new history rows record the deletions."""
    def tool(argv, data):
        assert argv[1] == '-f'
        if len(argv) > 2:
            user = argv[2]
        else:
            # no user argument: the tool prompts for the user, then for the application
            # (Horde_Cli::prompt: trim(fgets(STDIN)); an empty answer is every application)
            answers = data.decode('utf-8').split('\n')
            user, app = answers[0].strip(), answers[1].strip()
            assert user and app == ''
        conn = sqlite3.connect(db)
        conn.execute('DELETE FROM horde_prefs WHERE pref_uid = ?', (user,))
        for app, table, col, uidcol in (('nag', 'nag_tasks', 'task_owner', 'task_uid'),
                                        ('mnemo', 'mnemo_memos', 'memo_owner', 'memo_uid')):
            for (share,) in conn.execute('SELECT share_name FROM %s_sharesng WHERE share_owner = ?' % app,
                                         (user,)).fetchall():
                for (uid,) in conn.execute('SELECT %s FROM %s WHERE %s = ?' % (uidcol, table, col),
                                           (share,)).fetchall():
                    conn.execute("INSERT INTO horde_histories (object_uid, history_action, history_ts, "
                                 "history_who) VALUES (?, 'delete', 1795436612, 'Administrator')",
                                 ('%s:%s:%s' % (app, share, uid),))
                conn.execute('DELETE FROM %s WHERE %s = ?' % (table, col), (share,))
            conn.execute('DELETE FROM %s_sharesng WHERE share_owner = ?' % app, (user,))
        conn.execute('DELETE FROM ingo_rules WHERE rule_owner = ?', (user,))
        conn.execute('DELETE FROM ingo_forwards WHERE forward_owner = ?', (user,))
        conn.commit()
        conn.close()
        return 1, b'ann@example.org: Data NOT removed completely.', b''
    return tool


def test_erase_with_horde_tool_then_leftovers(horde):
    db = str(horde / 'horde.db')
    tool = horde / 'horde-remove-user-data'
    tool.write_text('#!/bin/sh\n')
    os.chmod(str(tool), 0o755)
    runner = FakeRunner({'horde-remove-user-data': fake_remove_user_data(db)})
    before = dump(db)
    res = store(horde, runner, remove_user_data=str(tool)).erase(Subject.from_params(**ANN), check_mode=False)
    # the user id on the tool's stdin, never on its command line
    assert list(zip(runner.calls, runner.inputs)) == [([str(tool), '-f'], b'ann@example.org\n\n')]
    assert res['detail']['remaining'] == 0
    assert res['detail']['remove_user_data_failed'] == 1 and res['manual_steps']
    assert 'ann@' not in ' '.join(res['manual_steps'])
    after = dump(db)
    # the history rows Horde's tool wrote about ann's objects went as well
    assert not any('nag-ann' in r or 'mnemo-ann' in r for r in after['horde_histories'])
    for table in before:
        for row in before[table]:
            if 'joann' in row or 'evil' in row or "'ann'," in row:
                assert row in after[table]
        assert set(after[table]) <= set(before[table])
    assert store(horde).locate(Subject.from_params(**ANN))['found'] == 0


def test_missing_tables_are_skipped(tmp_path):
    db = str(tmp_path / 'h.db')
    conn = sqlite3.connect(db)
    conn.execute('CREATE TABLE horde_prefs (pref_uid varchar(255), pref_scope varchar(16), '
                 'pref_name varchar(32), pref_value blob)')
    conn.execute("INSERT INTO horde_prefs VALUES ('ann@example.org', 'horde', 'x', 'y')")
    conn.commit()
    conn.close()
    st = HordeSqlStore({'driver': 'sqlite', 'database': db, 'conf_php': ''}, FakeRunner())
    assert st.locate(Subject.from_params(**ANN))['detail'] == {'horde_prefs': 1}


def test_domain_kind_finds_the_users_of_the_domain(horde):
    res = store(horde).locate(Subject.from_params(domain='example.org'))
    # ann, bob and joann; not ann@example.org.evil, not the login 'ann'
    assert res['detail']['horde_prefs'] == 4
    assert res['detail']['horde_users'] == 2


def test_sql_settings_takes_plain_literals_only():
    text = r"""<?php
$conf['sql']['username'] = 'horde';
$conf['sql']['password'] = 'it\'s a \\ secret';
$conf['sql']['hostspec'] = "localhost";
$conf['sql']['port'] = 3306;
$conf['sql']['ssl'] = false;
$conf['sql']['database'] = 'horde' . $suffix;
$conf['sql']['phptype'] = 'mysqli';
$conf['sql']['charset'] = 'utf-8'; // comment
"""
    conf = sql_settings([('conf.php', text)])
    # a double-quoted string without variables is a plain literal to PHP (the line pattern
    # before issue 13 left "localhost" out)
    assert conf == {'username': 'horde', 'password': "it's a \\ secret", 'port': 3306, 'ssl': False,
                    'phptype': 'mysqli', 'charset': 'utf-8', 'hostspec': 'localhost'}


def test_unsupported_database_type_is_unavailable(tmp_path):
    conf = tmp_path / 'conf.php'
    conf.write_text("<?php\n$conf['sql']['phptype'] = 'pgsql';\n$conf['sql']['database'] = 'horde';\n")
    ok, reason = HordeSqlStore({'conf_php': str(conf)}, FakeRunner()).available()
    assert not ok and 'not support' in reason
    ok, reason = HordeSqlStore({'conf_php': str(tmp_path / 'none.php')}, FakeRunner()).available()
    assert not ok


class FakeMysql(object):
    """A mysql client that answers from canned data and records the SQL it receives."""

    def __init__(self):
        self.sql = []
        self.argv = []
        self.defaults = []

    def __call__(self, argv, data):
        self.argv.append(argv)
        opt = [a for a in argv if a.startswith('--defaults-extra-file=')][0]
        path = opt.split('=', 1)[1]
        self.defaults.append((path, stat.S_IMODE(os.stat(path).st_mode), open(path).read()))
        sql = data.decode()
        self.sql.append(sql)
        if sql.startswith('SHOW TABLES'):
            return 0, b'horde_prefs\nimp_sentmail\n', b''
        if 'information_schema' in sql:
            if "'horde_prefs'" in sql:
                return 0, b'pref_uid\npref_scope\npref_name\npref_value\n', b''
            return 0, b'sentmail_id\nsentmail_who\n', b''
        if sql.startswith('SELECT COUNT(*)'):
            return 0, b'2\n', b''
        if sql.startswith('SELECT HEX('):
            row = '\t'.join(v.encode().hex().upper() for v in ('ann@example.org', 'horde', 'x', 'y'))
            return 0, (row + '\n' + row.replace('79', '80') + '\n').encode(), b''
        return 0, b'', b''


def test_mysql_backend_sends_identifiers_as_hex_on_stdin(tmp_path):
    conf = tmp_path / 'conf.php'
    conf.write_text("<?php\n$conf['sql']['phptype'] = 'mysqli';\n$conf['sql']['database'] = 'horde';\n"
                    "$conf['sql']['username'] = 'horde';\n$conf['sql']['password'] = 'pa\"ss';\n"
                    "$conf['sql']['hostspec'] = 'db.example.net';\n$conf['sql']['protocol'] = 'tcp';\n")
    fake = FakeMysql()
    runner = FakeRunner({'mysql': fake})
    st = HordeSqlStore({'conf_php': str(conf), 'mysql': 'mysql', 'remove_user_data': ''}, runner)
    res = st.locate(Subject.from_params(**ANN))
    assert res['found'] == 4 and res['detail'] == {'horde_prefs': 2, 'imp_sentmail': 2}
    hexed = 'ann@example.org'.encode().hex()
    for argv in fake.argv:
        assert not any('ann' in a or 'pa"ss' in a for a in argv)
        assert argv[1].startswith('--defaults-extra-file=') and argv[-1] == 'horde'
    assert any(hexed in s for s in fake.sql)
    assert not any('ann@' in s for s in fake.sql)
    path, mode, text = fake.defaults[0]
    assert mode == 0o600 and 'password="pa\\"ss"' in text and 'host="db.example.net"' in text
    assert not os.path.exists(path)          # removed after use
    res = st.erase(Subject.from_params(**ANN), check_mode=False)
    delete = [s for s in fake.sql if 'DELETE' in s][0]
    assert delete.startswith('SET autocommit = 0;\nSTART TRANSACTION;') and delete.endswith('COMMIT;')
    bundle = tmp_path / 'b'
    bundle.mkdir()
    res = st.export(Subject.from_params(**ANN), str(bundle))
    rows = json.loads((bundle / 'horde_sql' / 'horde_prefs.json').read_text())['rows']
    assert rows[0]['pref_value'] == 'y' and rows[1]['pref_value'] == {'base64': 'gA=='}


def test_bad_driver_option():
    with pytest.raises(StoreError):
        HordeSqlStore({'driver': 'oracle'}, FakeRunner())


def case_sensitive(**kw):
    """A subject whose local part compares with letter case."""
    return Subject.from_params(local_part_case='sensitive', **kw)


def test_case_variant_ids_keep_horde_tool_away(horde):
    # on a case-insensitive MySQL Horde's tool would delete 'ANN@example.org' too: seen on
    # MariaDB 10.11 with php-horde 5.2.23; for a case-sensitive subject that is another
    # user, so the store deletes the exact rows itself
    db = str(horde / 'horde.db')
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO horde_prefs VALUES ('ANN@example.org', 'horde', 'fullname', 'Upper')")
    conn.commit()
    conn.close()
    tool = horde / 'horde-remove-user-data'
    tool.write_text('#!/bin/sh\n')
    os.chmod(str(tool), 0o755)
    runner = FakeRunner({'horde-remove-user-data': fake_remove_user_data(db)})
    res = store(horde, runner, remove_user_data=str(tool)).erase(case_sensitive(**ANN), check_mode=False)
    assert runner.calls == []
    assert res['detail']['remove_user_data_skipped'] == 1 and res['detail']['remaining'] == 0
    assert any('letter case' in m for m in res['manual_steps'])
    rows = dump(db)['horde_prefs']
    assert "('ANN@example.org', 'horde', 'fullname', 'Upper')" in rows
    assert not any("'ann@example.org'" in r for r in rows)


def test_user_id_in_another_letter_case_is_the_subjects(horde):
    """Issue 12: Horde uids match the subject's addresses in any letter case of the domain and
    (by default) of the local part; the Horde tool then runs for each spelling."""
    db = str(horde / 'horde.db')
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO horde_prefs VALUES ('ANN@Example.ORG', 'horde', 'fullname', 'Upper')")
    conn.execute("INSERT INTO horde_prefs VALUES ('ann+work@example.org', 'horde', 'fullname', 'Work')")
    conn.commit()
    conn.close()
    assert store(horde).locate(Subject.from_params(**ANN))['detail']['horde_prefs'] == 3
    assert store(horde).locate(case_sensitive(**ANN))['detail']['horde_prefs'] == 2
    res = store(horde).erase(Subject.from_params(**ANN), check_mode=False)
    assert res['detail']['remaining'] == 0
    rows = dump(db)['horde_prefs']
    assert not any("'ANN@Example.ORG'" in r or "'ann@example.org'" in r for r in rows)
    assert "('ann+work@example.org', 'horde', 'fullname', 'Work')" in rows


@pytest.mark.parametrize('sep, count', [('+', 1), ('-', 1), ('', 0)])
def test_extended_accounts(horde, sep, count):
    """ann+work@ (with '+') or ann-marie@ (with '-') is another Horde user: counted, never
    the subject's rows."""
    db = str(horde / 'horde.db')
    conn = sqlite3.connect(db)
    for uid in ('ann+work@example.org', 'ann-marie@example.org', 'ann-x'):
        conn.execute("INSERT INTO horde_prefs VALUES (?, 'horde', 'fullname', 'Other')", (uid,))
        conn.execute("INSERT INTO horde_users (user_uid, user_pass) VALUES (?, 'h')", (uid,))
    conn.commit()
    conn.close()
    before = file_hash(db)
    ann = Subject.from_params(addresses=['ann@example.org'], plus_separator=sep)
    assert store(horde).extended_accounts(ann) == count
    assert store(horde).extended_accounts(Subject.from_params(logins=['ann'], plus_separator=sep)) == \
        (1 if sep == '-' else 0)
    assert file_hash(db) == before
    assert store(horde).locate(ann)['found'] == sum(ANN_EXPECTED.values())


def test_horde_tool_gets_an_id_its_prompt_would_trim_as_an_argument(horde):
    """horde-remove-user-data trims what it reads at its prompt (PHP trim): an id with
    surrounding white space would reach Horde as another id, so it stays an argument."""
    seen = []
    runner = FakeRunner({'horde-remove-user-data': lambda argv, data: seen.append((argv, data)) or (0, b'', b'')})
    st = store(horde, runner)
    assert st._remove_user_data('/usr/bin/horde-remove-user-data', 'ann@example.org') == 0
    assert st._remove_user_data('/usr/bin/horde-remove-user-data', 'ann@example.org ') == 0
    assert seen == [(['/usr/bin/horde-remove-user-data', '-f'], b'ann@example.org\n\n'),
                    (['/usr/bin/horde-remove-user-data', '-f', 'ann@example.org '], None)]


# ------------------------------------------------------------------ root-run file handling
# The database lives in a directory the web server's user owns: that user can swap the file
# for a symbolic link to another SQLite file, or for a FIFO, before or while the store opens it.

def other_database(tmp_path):
    """A root-only SQLite database that also holds rows of the subject (another
    application's, or a copy the web server's user must not get through root)."""
    secret = tmp_path / 'secret'
    secret.mkdir(mode=0o700)
    path = str(secret / 'other.db')
    seed(path)
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO horde_prefs (pref_uid, pref_scope, pref_name, pref_value) "
                 "VALUES ('ann@example.org', 'horde', 'canary', X'43414e415259')")
    conn.commit()
    conn.close()
    return path


def swap_after_the_check(monkeypatch, action):
    """Run ``action`` right after the store checked the database file on its handle."""
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils import fsops
    original = fsops.Dir.open_file
    done = []

    def open_file(self, name, *args, **kwargs):
        res = original(self, name, *args, **kwargs)
        if name.endswith('.db') and not done:
            done.append(1)
            action()
        return res
    monkeypatch.setattr(fsops.Dir, 'open_file', open_file)
    return done


def test_a_database_swapped_for_a_link_to_another_database_is_refused(horde, tmp_path):
    other = other_database(tmp_path)
    db = str(horde / 'horde.db')
    os.rename(db, db + '.real')
    os.symlink(other, db)
    before = dump(other)
    bundle = tmp_path / 'bundle'
    bundle.mkdir()
    for call in (lambda st: st.locate(Subject.from_params(**ANN)),
                 lambda st: st.export(Subject.from_params(**ANN), str(bundle)),
                 lambda st: st.erase(Subject.from_params(**ANN), check_mode=False)):
        with pytest.raises(StoreError) as exc:
            call(store(horde))
        assert 'symbolic link' in str(exc.value) and 'example' not in str(exc.value)
    assert dump(other) == before
    assert not [f for f in bundle.rglob('*') if f.is_file() and b'CANARY' in f.read_bytes()]
    assert not os.path.exists(other + '-journal')


@pytest.mark.parametrize('swap_to', ['link', 'fifo'])
def test_a_database_swapped_after_the_check_is_refused_in_bounded_time(horde, tmp_path, monkeypatch, swap_to):
    import time
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils import store_horde
    other = other_database(tmp_path)
    db = str(horde / 'horde.db')

    def swap():
        os.rename(db, db + '.real')
        if swap_to == 'link':
            os.symlink(other, db)
        else:
            os.mkfifo(db)
    done = swap_after_the_check(monkeypatch, swap)
    monkeypatch.setattr(store_horde._SqliteBackend, 'TIMEOUT', 3)
    before = dump(other)
    start = time.monotonic()
    with pytest.raises(StoreError) as exc:
        store(horde).erase(Subject.from_params(**ANN), check_mode=False)
    assert done and time.monotonic() - start < 30
    if swap_to == 'link':
        assert 'replaced' in str(exc.value)
    # SQLite cannot read a FIFO (pread fails) or it does not answer in time: refused either way
    assert dump(other) == before


def test_a_fifo_or_a_hard_link_in_place_of_the_database_is_refused(horde, tmp_path):
    db = str(horde / 'horde.db')
    os.link(db, str(tmp_path / 'elsewhere.db'))
    with pytest.raises(StoreError) as exc:
        store(horde).locate(Subject.from_params(**ANN))
    assert 'hard link' in str(exc.value)
    os.unlink(db)
    os.mkfifo(db)
    with pytest.raises(StoreError) as exc:
        store(horde).locate(Subject.from_params(**ANN))
    assert 'not a regular file' in str(exc.value)


def test_a_root_database_in_a_directory_another_user_can_change_is_refused(horde):
    os.chown(str(horde), 65534, 65534)
    try:
        with pytest.raises(StoreError) as exc:
            store(horde).locate(Subject.from_params(**ANN))
        assert 'belongs to root' in str(exc.value)
    finally:
        os.chown(str(horde), 0, 0)


@pytest.fixture
def www_data_host(horde):
    """The database in a directory owned by an unprivileged user (uid 65534), inside a
    directory that user can traverse (pytest's temporary directories are root-only)."""
    import shutil
    import tempfile
    top = tempfile.mkdtemp(prefix='horde-owner-', dir='/tmp')
    os.chmod(top, 0o755)
    lib = os.path.join(top, 'lib')
    os.mkdir(lib)
    os.chown(lib, 65534, 65534)
    db = os.path.join(lib, 'horde.db')
    shutil.copyfile(str(horde / 'horde.db'), db)
    os.chown(db, 65534, 65534)
    os.chmod(db, 0o600)
    yield db
    shutil.rmtree(top)


def test_the_sqlite_work_runs_as_the_database_owner(www_data_host, tmp_path):
    db = www_data_host
    st = HordeSqlStore({'driver': 'sqlite', 'database': db, 'conf_php': '', 'remove_user_data': ''}, FakeRunner())
    assert st.locate(Subject.from_params(**ANN))['found'] == sum(ANN_EXPECTED.values())
    # root could read a file its owner cannot; the helper, running as the owner, cannot
    os.chmod(db, 0o000)
    with pytest.raises(StoreError) as exc:
        st.locate(Subject.from_params(**ANN))
    assert 'SQLite failed' in str(exc.value)
    os.chmod(db, 0o600)
    res = st.erase(Subject.from_params(**ANN), check_mode=False)
    assert res['erased'] == sum(ANN_EXPECTED.values())
    # nothing the erasure left next to the database belongs to root
    for name in os.listdir(os.path.dirname(db)):
        assert os.lstat(os.path.join(os.path.dirname(db), name)).st_uid == 65534, name


def test_a_database_that_never_answers_is_given_up_and_its_helper_killed(horde, monkeypatch):
    import time
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils import store_horde
    monkeypatch.setattr(store_horde, '_SQLITE_HELPER', 'import time\ntime.sleep(120)\n')
    monkeypatch.setattr(store_horde._SqliteBackend, 'TIMEOUT', 2)
    procs = []
    original = store_horde.subprocess.Popen

    def popen(*args, **kwargs):
        procs.append(original(*args, **kwargs))
        return procs[-1]
    monkeypatch.setattr(store_horde.subprocess, 'Popen', popen)
    start = time.monotonic()
    with pytest.raises(StoreError) as exc:
        store(horde).locate(Subject.from_params(**ANN))
    assert 'did not answer within 2 s' in str(exc.value)
    assert time.monotonic() - start < 20
    assert procs and all(p.poll() is not None for p in procs)


def test_conf_local_php_and_conf_d_decide_the_database_as_in_horde(tmp_path):
    """Horde runs conf.php, conf.d/*.php, then conf.local.php: the store reads the database
    they end up with (the line pattern before issue 13 read conf.php alone)."""
    conf = tmp_path / 'conf.php'
    conf.write_text("<?php\n$conf['sql']['phptype'] = 'mysql';\n$conf['sql']['database'] = 'horde_old';\n")
    (tmp_path / 'conf.d').mkdir()
    (tmp_path / 'conf.d' / '10-sqlite.php').write_text("<?php\n$conf['sql'] = array('phptype' => 'sqlite');\n")
    (tmp_path / 'conf.local.php').write_text("<?php\n$conf['sql']['database'] = '/srv/horde/horde.db';\n")
    driver, database, settings = HordeSqlStore({'conf_php': str(conf)}, FakeRunner())._settings()
    assert (driver, database) == ('sqlite', '/srv/horde/horde.db')
    assert settings == {'phptype': 'sqlite', 'database': '/srv/horde/horde.db'}
