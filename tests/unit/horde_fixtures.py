# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixture trees of Horde's configuration as the Molecule horde scenario has them, for the unit
tests of horde_config_info and the role's end-to-end test (tests/e2e/test_horde_role_local.py)."""

from __future__ import annotations

import textwrap

# conf.php as prepare.yml has Horde's configuration screen write it (files/horde-setup.php:
# Horde_Config::generatePHPConfig; SQLite, IMP authentication, DEBUG on LOG_USER), shortened to
# the statement forms it writes: literals, constants, PHP expressions (configphp), arrays.
HORDE_CONF = textwrap.dedent(
    """\
    <?php
    /* CONFIG START. DO NOT CHANGE ANYTHING IN OR AFTER THIS LINE. */
    // $Hash: 22645085a1d3f78cfbe3250fb4ff423c04e7100e
    // $Id: 5841de7a8bd742b764f603953bef5d16a75a0da4 $
    $conf['vhosts'] = false;
    $conf['debug_level'] = E_ALL & ~E_NOTICE;
    $conf['max_exec_time'] = 0;
    $conf['compress_pages'] = true;
    $conf['secret_key'] = 'c1XTigdwmNq49WhSa8uF3mL';
    $conf['umask'] = 077;
    $conf['testdisable'] = true;
    $conf['use_ssl'] = 2;
    $conf['server']['name'] = $_SERVER['SERVER_NAME'];
    $conf['urls']['token_lifetime'] = 30;
    $conf['urls']['hmac_lifetime'] = 30;
    $conf['urls']['pretty'] = false;
    $conf['safe_ips'] = array();
    $conf['session']['name'] = 'Horde';
    $conf['session']['use_only_cookies'] = true;
    $conf['session']['timeout'] = 0;
    $conf['session']['cache_limiter'] = 'nocache';
    $conf['session']['max_time'] = 72000;
    $conf['cookie']['domain'] = $_SERVER['SERVER_NAME'];
    $conf['cookie']['path'] = '/horde';
    $conf['sql']['database'] = '/var/lib/horde/horde.sqlite';
    $conf['sql']['charset'] = 'utf-8';
    $conf['sql']['phptype'] = 'sqlite';
    $conf['auth']['admins'] = array();
    $conf['auth']['checkip'] = true;
    $conf['auth']['checkbrowser'] = true;
    $conf['auth']['resetpassword'] = true;
    $conf['auth']['alternate_login'] = false;
    $conf['auth']['redirect_on_logout'] = false;
    $conf['auth']['list_users'] = 'list';
    $conf['auth']['params']['app'] = 'imp';
    $conf['auth']['driver'] = 'application';
    $conf['auth']['params']['count_bad_logins'] = false;
    $conf['auth']['params']['login_block'] = false;
    $conf['signup']['allow'] = false;
    $conf['log']['priority'] = 'DEBUG';
    $conf['log']['ident'] = 'HORDE';
    $conf['log']['name'] = LOG_USER;
    $conf['log']['type'] = 'syslog';
    $conf['log']['enabled'] = true;
    $conf['log_accesskeys'] = false;
    $conf['prefs']['maxsize'] = 65535;
    $conf['prefs']['params']['driverconfig'] = 'horde';
    $conf['prefs']['driver'] = 'Sql';
    $conf['alarms']['params']['driverconfig'] = 'horde';
    $conf['alarms']['params']['ttl'] = 300;
    $conf['alarms']['driver'] = 'Sql';
    $conf['group']['driverconfig'] = 'horde';
    $conf['group']['driver'] = 'Sql';
    $conf['perms']['driverconfig'] = 'horde';
    $conf['perms']['driver'] = 'Sql';
    $conf['share']['no_sharing'] = false;
    $conf['share']['auto_create'] = true;
    $conf['share']['world'] = true;
    $conf['share']['any_group'] = false;
    $conf['share']['hidden'] = false;
    $conf['share']['cache'] = false;
    $conf['share']['driver'] = 'Sqlng';
    $conf['cache']['default_lifetime'] = 86400;
    $conf['cache']['params']['sub'] = 0;
    $conf['cache']['driver'] = 'File';
    $conf['cache']['use_memorycache'] = '';
    $conf['cachecssparams']['driver'] = 'filesystem';
    $conf['cachecssparams']['lifetime'] = 86400;
    $conf['cachecss'] = true;
    $conf['cachejsparams']['driver'] = 'filesystem';
    $conf['cachejsparams']['compress'] = 'php';
    $conf['cachejsparams']['lifetime'] = 86400;
    $conf['cachejs'] = true;
    $conf['cachethemes'] = true;
    $conf['cachethemesparams']['check'] = 'appversion';
    $conf['cachethemesparams']['lifetime'] = 604800;
    $conf['lock']['params']['driverconfig'] = 'horde';
    $conf['lock']['driver'] = 'Sql';
    $conf['token']['params']['driverconfig'] = 'horde';
    $conf['token']['driver'] = 'Sql';
    $conf['history']['params']['driverconfig'] = 'horde';
    $conf['history']['driver'] = 'Sql';
    $conf['davstorage']['params']['driverconfig'] = 'horde';
    $conf['davstorage']['driver'] = 'Sql';
    $conf['mailer']['params']['sendmail_path'] = '/usr/lib/sendmail';
    $conf['mailer']['params']['sendmail_args'] = '-oi';
    $conf['mailer']['type'] = 'sendmail';
    $conf['vfs']['params']['driverconfig'] = 'horde';
    $conf['vfs']['type'] = 'Sql';
    $conf['sessionhandler']['type'] = 'Builtin';
    $conf['sessionhandler']['hashtable'] = false;
    $conf['spell']['driver'] = '';
    $conf['http']['proxy']['proxy_host'] = '';
    $conf['openpgp']['enabled'] = false;
    $conf['smime']['enabled'] = false;
    $conf['timezone']['location'] = 'ftp://ftp.iana.org/tz/tzdata-latest.tar.gz';
    $conf['problems']['email'] = 'webmaster@example.com';
    $conf['problems']['maildomain'] = 'example.com';
    $conf['problems']['tickets'] = false;
    $conf['problems']['attachments'] = true;
    $conf['menu']['links']['help'] = 'all';
    $conf['menu']['links']['prefs'] = 'authenticated';
    $conf['menu']['links'][' problem'] = 'all';
    $conf['menu']['links']['login'] = 'all';
    $conf['menu']['links']['logout'] = 'authenticated';
    $conf['portal']['fixed_blocks'] = array();
    $conf['accounts']['driver'] = 'null';
    $conf['user']['verify_from_addr'] = false;
    $conf['user']['select_view'] = true;
    $conf['facebook']['enabled'] = false;
    $conf['twitter']['enabled'] = false;
    $conf['urlshortener'] = 'TinyUrl';
    $conf['weather']['provider'] = false;
    $conf['imap']['enabled'] = false;
    $conf['imsp']['enabled'] = false;
    $conf['kolab']['enabled'] = false;
    $conf['hashtable']['driver'] = 'none';
    $conf['activesync']['enabled'] = false;
    $conf['nosql']['phptype'] = false;
    /* CONFIG END. DO NOT CHANGE ANYTHING IN OR BEFORE THIS LINE. */
    """
)

# IMP's conf.php with prepare.yml's SQL sent-mail log kept for 60 days (shortened likewise).
IMP_CONF = textwrap.dedent(
    """\
    <?php
    /* CONFIG START. DO NOT CHANGE ANYTHING IN OR AFTER THIS LINE. */
    // $Id: 3fe4ed6e6e1b2a5b5b24e0cc5a7c34bf1f3dc0e0 $
    $conf['user']['force_view'] = false;
    $conf['user']['allow_view_source'] = true;
    $conf['user']['allow_resume_all'] = false;
    $conf['server']['server_list'] = 'none';
    $conf['server']['change_smtp'] = false;
    $conf['server']['cache_driver'] = 'cache';
    $conf['compose']['use_vfs'] = false;
    $conf['compose']['link_attachments_notify'] = true;
    $conf['compose']['link_attach_threshold'] = 5242880;
    $conf['compose']['link_attach_size_limit'] = 0;
    $conf['compose']['link_attach_size_hard'] = 0;
    $conf['compose']['link_attachments'] = true;
    $conf['compose']['attach_size_limit'] = 0;
    $conf['compose']['attach_count_limit'] = 0;
    $conf['compose']['reply_limit'] = 200000;
    $conf['compose']['ac_threshold'] = 3;
    $conf['compose']['htmlsig_img_size'] = 30000;
    $conf['pgp']['keylength'] = 1024;
    $conf['maillog']['driver'] = 'history';
    $conf['sentmail']['params']['threshold'] = 60;
    $conf['sentmail']['params']['limit_period'] = 24;
    $conf['sentmail']['params']['driverconfig'] = 'horde';
    $conf['sentmail']['driver'] = 'Sql';
    $conf['contactsimage']['backends'] = array('IMP_Contacts_Avatar_Addressbook');
    $conf['tasklist']['use_tasklist'] = true;
    $conf['notepad']['use_notepad'] = true;
    /* CONFIG END. DO NOT CHANGE ANYTHING IN OR BEFORE THIS LINE. */
    """
)

# The code of Debian's /etc/horde/imp/backends.php (php-horde-imp 6.2.27; its long comment
# block left out): three backends, plain literals.
BACKENDS = textwrap.dedent(
    """\
    <?php
    /**
     * IMP provides some examples below that cover some of the most common mail server
     * configurations. See the documentation in the file shipped with IMP.
     */

    /* Example configurations: */

    $servers['imap'] = array(
        // Disabled by default
        'disabled' => false,
        'name' => 'IMAP Server',
        'hostspec' => 'localhost',
        'hordeauth' => false,
        'protocol' => 'imap',
        'port' => 143,
        'secure' => 'tls',
    );

    $servers['pop'] = array(
        // Disabled by default
        'disabled' => true,
        'name' => 'POP3 Server',
        'hostspec' => 'localhost',
        'hordeauth' => false,
        'protocol' => 'pop',
        'port' => 110,
        'secure' => 'tls',
    );

    $servers['advanced'] = array(
        // Disabled by default
        'disabled' => true,
        'name' => 'Advanced IMAP Server',
        'hostspec' => 'localhost',
        'hordeauth' => false,
        'protocol' => 'imap',
        'port' => 143,
        'secure' => 'tls',
        'maildomain' => '',
        'smtp' => array(
            // 'auth' => true,
            // 'debug' => '/tmp/smtp.log',
        ),
        'spam' => array(
        ),
        'admin' => array(
        ),
        'acl' => true,
        'cache' => false,
        'quota' => array(
            'driver' => 'imap',
            'params' => array(
                'hide_when_unlimited' => true,
                'unit' => 'MB'
            )
        ),
        'special_mboxes' => array(
        ),
        'autocreate_special' => false,
    );
    """
)

# prepare.yml: "Left over from debugging a login problem."
DEBUG_DROPIN = ("imp/backends.d/50-mp-debug.php",
                "<?php\n// Left over from debugging a login problem.\n$servers['imap']['debug'] = '/tmp/imp_imap.log';\n"
                "$servers['imap']['debug_raw'] = true;\n")
# The verifier's overrides (tests/test_overrides.py, tests/test_php_reader.py of the scenario).
VALUE_MARKER = "/var/tmp/leakmarker.log"
LOCAL_OVERRIDE = ("horde/conf.local.php",
                  "<?php\n$conf['log']['priority'] = 'DEBUG';\n$conf['log']['type'] = 'file';\n$conf['log']['name'] = '%s';\n"
                  % VALUE_MARKER)
ARRAY_OVERRIDE = ("horde/conf.local.php",
                  "<?php\n/* $conf['log']['enabled'] = false; */\n"
                  "$conf['log'] = array('enabled' => true, 'priority' => 'ERR', // errors only\n"
                  "    'type' => 'syslog', 'name' => LOG_LOCAL3, 'ident' => 'HORDE');\n"
                  "$conf['session']['max_time'] = 3600; // one hour\n")
MORE_DEBUG_DROPIN = ("imp/backends.d/60-mp-more-debug.php", "<?php\n$servers['advanced']['debug_raw'] = true;\n")

PREPARED = {"horde/conf.php": HORDE_CONF, "imp/conf.php": IMP_CONF, "imp/backends.php": BACKENDS, DEBUG_DROPIN[0]: DEBUG_DROPIN[1]}


def write_tree(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def evil_dropin(markers):
    return textwrap.dedent(
        """\
        <?php
        touch('%s');
        system('touch %s');
        $conf['log']['priority'] = exec('touch %s') === '' ? 'WARNING' : 'WARNING';
        if (file_put_contents('%s', 'x')) {
            $conf['log']['type'] = 'syslog';
        }
        $conf['log']['ident'] = 'HORDE';
        """
    ) % tuple(markers)
