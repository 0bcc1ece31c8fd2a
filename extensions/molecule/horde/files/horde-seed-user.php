<?php
/**
 * Test fixture of the horde scenario (also usable by the lab seed): creates a user's
 * personal data in Horde through Horde's own API, as the web interface would.
 *
 *   horde_prefs: fullname and from_addr (identity) of USER
 *   turba_objects: one contact in USER's default address book (only when Turba,
 *   php-horde-turba, is installed and configured)
 *
 * Usage: php horde-seed-user.php USER FULLNAME FROM_ADDR [CONTACT_NAME CONTACT_EMAIL]
 * Prints "prefs" and, when a contact was created, "contact <uid>" ("contact exists" when
 * the same contact is there already, so a second run succeeds).
 */
require_once 'PEAR/Config.php';
require_once PEAR_Config::singleton()->get('horde_dir', null, 'pear.horde.org') . '/lib/Application.php';
error_reporting(E_ERROR | E_PARSE);
Horde_Registry::appInit('horde', array('authentication' => 'none', 'cli' => true));

if ($argc < 4) {
    fwrite(STDERR, "usage: horde-seed-user.php USER FULLNAME FROM_ADDR [CONTACT_NAME CONTACT_EMAIL]\n");
    exit(2);
}
$user = $argv[1];
$registry = $GLOBALS['registry'];
$registry->setAuth($user, array());

$prefs = $GLOBALS['injector']->getInstance('Horde_Core_Factory_Prefs')
    ->create('horde', array('user' => $user, 'cache' => false));
$prefs->setValue('fullname', $argv[2]);
$prefs->setValue('from_addr', $argv[3]);
$prefs->store();
echo "prefs\n";

if ($argc >= 6 && $registry->hasInterface('contacts')) {
    $vcard = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:" . $argv[4] . "\r\nN:" . $argv[4]
        . ";;;;\r\nEMAIL;TYPE=INTERNET:" . $argv[5] . "\r\nEND:VCARD\r\n";
    try {
        echo 'contact ', $registry->call('contacts/import', array($vcard, 'text/x-vcard')), "\n";
    } catch (Turba_Exception_ObjectExists $e) {
        // a second seed of the same user (the lab is re-seeded): the contact is there already
        echo "contact exists\n";
    }
}
