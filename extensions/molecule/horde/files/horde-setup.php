<?php
/**
 * Test fixture of the mailprivacy.gdpr horde scenario (not part of the role).
 *
 * Writes Horde's and IMP's conf.php the way Debian's groupware-install does
 * (Horde_Config::generatePHPConfig over conf.xml, CONFIG START/END markers),
 * without questions: SQLite database, IMP authentication, and the settings given as
 * name=value arguments (Horde form names, e.g. log__priority=DEBUG).
 *
 * Usage: php horde-setup.php APP [name=value ...]
 */
require_once 'PEAR/Config.php';
require_once PEAR_Config::singleton()->get('horde_dir', null, 'pear.horde.org') . '/lib/Application.php';

$app = $argv[1];
$base = PEAR_Config::singleton()->get('horde_dir', null, 'pear.horde.org');
if (!file_exists($base . '/config/conf.php')) {
    copy($base . '/config/conf.php.dist', $base . '/config/conf.php');
}
Horde_Registry::appInit('horde', array('authentication' => 'none', 'cli' => true, 'nocompress' => true));

$vars = new Horde_Variables();
foreach (array_slice($argv, 2) as $arg) {
    list($name, $value) = explode('=', $arg, 2);
    $vars->set($name, $value);
}
$config = new Horde_Config($app);
$php = $config->generatePHPConfig($vars, $app == 'horde' ? $GLOBALS['conf'] : null);
file_put_contents($config->configFile(), $php);
echo "wrote " . $config->configFile() . "\n";
