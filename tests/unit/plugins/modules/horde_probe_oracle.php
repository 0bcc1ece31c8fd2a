<?php
/*
 * TEST ORACLE ONLY - never shipped, never run as root.
 *
 * The PHP probe that roles/horde ran as root before horde_config_info (files/horde-effective-config.php),
 * removed because it executed configuration files that the web server user may write. The unit tests of
 * horde_config_info run it as an unprivileged user on fixture trees to compare its answers with the module's.
 */
?>
<?php
/**
 * mailprivacy.gdpr.horde: read-only probe of Horde's effective configuration.
 *
 * Loads configuration files the way Horde_Registry_Loadconfig does (FILE, then
 * STEM.d/*.php in glob order, then STEM.local.php; an application's conf.php on top of
 * Horde's own) and compares selected keys with the values the role sets.
 *
 * Usage: php horde-effective-config.php REQUEST_JSON
 *   REQUEST = {
 *     "conf": [{"dir": "/etc/horde/horde", "label": "horde", "base": null,
 *               "expect": [{"key": ["log", "priority"], "value": "WARNING"},
 *                          {"key": ["log", "name"], "constant": "LOG_MAIL"}]}, ...],
 *     "backends": {"dir": "/etc/horde/imp", "keys": [["debug"], ["debug_raw"], ["smtp", "debug"]]}
 *   }
 * Prints JSON: {"mismatch": {"horde": ["log.priority"]}, "backends": {"imap": ["debug"]},
 *               "names": ["imap", ...], "vhost_files": [...], "errors": [...]}
 * Only key paths, backend names and file names are printed, never configuration values.
 */

// Warnings from the configuration files (undefined $_SERVER keys on the command line) are
// not findings; fatal errors are reported on stderr.
error_reporting(E_ERROR | E_PARSE | E_CORE_ERROR | E_COMPILE_ERROR);
ini_set('display_errors', 'stderr');
if (!isset($_SERVER['SERVER_NAME'])) {
    $_SERVER['SERVER_NAME'] = 'localhost';
}

function mp_files($dir, $file)
{
    $stem = pathinfo($file, PATHINFO_FILENAME);
    $list = array($dir . '/' . $file);
    $extra = glob($dir . '/' . $stem . '.d/*.php');
    if ($extra !== false) {
        $list = array_merge($list, $extra);
    }
    $list[] = $dir . '/' . $stem . '.local.php';
    return $list;
}

function mp_load($dir, $file, $var, $initial, &$errors, &$vhosts)
{
    $loaded = false;
    $__mp_value = $initial;
    foreach (mp_files($dir, $file) as $__mp_path) {
        if (!file_exists($__mp_path)) {
            continue;
        }
        $loaded = true;
        $__mp_value = (function ($__mp_path, $__mp_var, $__mp_value) {
            ${$__mp_var} = $__mp_value;
            ob_start();
            try {
                include $__mp_path;
            } finally {
                ob_end_clean();
            }
            return isset(${$__mp_var}) ? ${$__mp_var} : array();
        })($__mp_path, $var, $__mp_value);
    }
    $stem = pathinfo($file, PATHINFO_FILENAME);
    $vhost = glob($dir . '/' . $stem . '-*.php');
    if ($vhost !== false && $vhost) {
        $vhosts = array_merge($vhosts, $vhost);
    }
    return $loaded ? $__mp_value : null;
}

function mp_get($array, $key, &$found)
{
    $found = false;
    foreach ($key as $segment) {
        if (!is_array($array) || !array_key_exists($segment, $array)) {
            return null;
        }
        $array = $array[$segment];
    }
    $found = true;
    return $array;
}

$request = json_decode($argv[1], true);
$result = array('mismatch' => new stdClass(), 'backends' => new stdClass(), 'names' => array(),
                'vhost_files' => array(), 'errors' => array(), 'missing' => array());
$loaded = array();
$vhosts = array();

foreach ($request['conf'] as $check) {
    $base = isset($check['base']) && isset($loaded[$check['base']]) ? $loaded[$check['base']] : array();
    try {
        $conf = mp_load($check['dir'], 'conf.php', 'conf', $base, $result['errors'], $vhosts);
    } catch (Throwable $e) {
        $result['errors'][] = $check['label'] . ': ' . get_class($e) . ' while reading the configuration';
        continue;
    }
    if ($conf === null) {
        $result['missing'][] = $check['label'];
        continue;
    }
    $loaded[$check['label']] = $conf;
    $bad = array();
    foreach ($check['expect'] as $item) {
        // Dotted strings or lists of segments, like mailprivacy.gdpr.horde_conf.
        if (!is_array($item['key'])) {
            $item['key'] = explode('.', $item['key']);
        }
        if (isset($item['constant'])) {
            if (!defined($item['constant'])) {
                $result['errors'][] = $check['label'] . ': PHP has no constant ' . $item['constant'];
                continue;
            }
            $want = constant($item['constant']);
        } else {
            $want = $item['value'];
        }
        $have = mp_get($conf, $item['key'], $found);
        if (!$found || $have !== $want) {
            $bad[] = implode('.', $item['key']);
        }
    }
    if ($bad) {
        $result['mismatch']->{$check['label']} = $bad;
    }
}

if (!empty($request['backends'])) {
    try {
        $servers = mp_load($request['backends']['dir'], 'backends.php', 'servers', array(), $result['errors'], $vhosts);
    } catch (Throwable $e) {
        $servers = null;
        $result['errors'][] = 'backends: ' . get_class($e) . ' while reading the configuration';
    }
    if (is_array($servers)) {
        foreach ($servers as $name => $server) {
            $result['names'][] = (string)$name;
            $on = array();
            foreach ($request['backends']['keys'] as $key) {
                $value = mp_get($server, $key, $found);
                if ($found && !empty($value)) {
                    $on[] = implode('.', $key);
                }
            }
            if ($on) {
                $result['backends']->{(string)$name} = $on;
            }
        }
    }
}

$result['vhost_files'] = array_values(array_unique($vhosts));
echo json_encode($result), "\n";
