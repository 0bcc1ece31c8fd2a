<?php
/**
 * Test fixture of the horde scenario (verifier): Horde's effective configuration as
 * Horde itself loads it (Horde_Registry, Horde_Registry_Loadconfig), for key paths given
 * as JSON: {"horde": [["log", "priority"], ...], "imp": [...], "backends": [["debug"], ...]}.
 * Prints {"horde": {"log.priority": [type, value]}, "imp": {...},
 *         "backends": {"imap": {"debug": [type, value]}}} with PHP types (gettype).
 */
require_once 'PEAR/Config.php';
require_once PEAR_Config::singleton()->get('horde_dir', null, 'pear.horde.org') . '/lib/Application.php';
error_reporting(E_ERROR);
Horde_Registry::appInit('horde', array('authentication' => 'none', 'cli' => true));

function typed($v)
{
    if (is_array($v)) {
        $o = array();
        foreach ($v as $k => $x) {
            $o[] = array(typed($k), typed($x));
        }
        return array('array', $o);
    }
    return array(gettype($v), $v);
}

function lookup($array, $key)
{
    foreach ($key as $segment) {
        if (!is_array($array) || !array_key_exists($segment, $array)) {
            return array('unset', null);
        }
        $array = $array[$segment];
    }
    return typed($array);
}

$request = json_decode($argv[1], true);
$out = array('horde' => array(), 'imp' => array(), 'backends' => array());
$registry = $GLOBALS['registry'];
$confs = array(
    'horde' => $GLOBALS['conf'],
    'imp' => $registry->loadConfigFile('conf.php', 'conf', 'imp')->config['conf'],
);
foreach (array('horde', 'imp') as $app) {
    foreach ($request[$app] as $key) {
        $out[$app][implode('.', $key)] = lookup($confs[$app], $key);
    }
}
$servers = $registry->loadConfigFile('backends.php', 'servers', 'imp')->config['servers'];
foreach ($servers as $name => $server) {
    foreach ($request['backends'] as $key) {
        $out['backends'][$name][implode('.', $key)] = lookup($server, $key);
    }
}
echo json_encode($out), "\n";
