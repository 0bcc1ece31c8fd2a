# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""mailprivacy.gdpr.horde_conf against Debian's real PHP 8.2 in the container.

roundtrip.yml writes hard values (quotes, backslashes, newlines, PHP tags, unicode,
numbers, booleans, null, nested arrays, integer-like keys, a constant) into a copy of
Horde's generated conf.php with the module, then PHP itself includes the file and prints
every value with its PHP type. A second run must change nothing; check mode must not
write; a candidate PHP refuses must leave the file alone.
"""

from __future__ import annotations

import json

import pytest

from conftest import flat, run_playbook

WORK = "/var/tmp/mp-horde-roundtrip"
CONF = WORK + "/conf.php"
DUMP = (
    "function t($v) { if (is_array($v)) { $o = array(); foreach ($v as $k => $x) { $o[] = array(t($k), t($x)); }"
    " return array('array', $o); } return array(gettype($v), $v); }"
    " include $argv[1]; echo json_encode(t($conf['rt']));"
)

# name -> value; strings avoid "{{" and "{%" (Ansible would template them).
VALUES = {
    "quote": "it's",
    "double_quote": 'say "hi"',
    "backslashes": "C:\\horde\\",
    "escaped_quote": "\\'",
    "newlines": "line1\nline2\r\nline3",
    "php_tags": "?> <?php echo 1; ?>",
    "comment_end": "*/ // #",
    "dollar": "$conf['x'] {$y}",
    "unicode": "Grüße, 日本, 😀",
    "empty": "",
    "int": 42,
    "negative": -7,
    "big": 2 ** 62,
    "float": 0.1,
    "tiny": 1e-300,
    "true": True,
    "false": False,
    "null": None,
    "list": ["a", 1, None, [True, 2.5]],
    "empty_list": [],
    "dict": {"threshold": 14, "params": {"driverconfig": "horde", "10": "ten"}},
}


def expected_typed(value):
    """What PHP's gettype-based dump must print for a value, worked out independently."""
    if value is None:
        return ["NULL", None]
    if isinstance(value, bool):
        return ["boolean", value]
    if isinstance(value, int):
        return ["integer", value]
    if isinstance(value, float):
        return ["double", value]
    if isinstance(value, str):
        return ["string", value]
    if isinstance(value, list):
        return ["array", [[["integer", i], expected_typed(v)] for i, v in enumerate(value)]]
    pairs = []
    for key, item in value.items():
        php_key = ["integer", int(key)] if key.isdigit() and not key.startswith("0") else ["string", key]
        pairs.append([php_key, expected_typed(item)])
    return ["array", pairs]


def doubles_as_floats(dump):
    if isinstance(dump, list) and len(dump) == 2 and dump[0] == "double":
        return ["double", float(dump[1])]
    if isinstance(dump, list):
        return [doubles_as_floats(item) for item in dump]
    return dump


@pytest.fixture(scope="module")
def roundtrip(ct, tmp_path_factory):
    extra = tmp_path_factory.mktemp("rt") / "values.json"
    extra.write_text(json.dumps({"rt_values": VALUES, "rt_conf": CONF}))
    run = run_playbook("roundtrip.yml", "-e", "@%s" % extra)
    assert run.returncode == 0, flat(run)
    return run


def test_php_reads_back_exactly_what_was_set(ct, roundtrip):
    out = ct.check_output("php -n -r %s %s", DUMP, CONF)
    dump = json.loads(out)
    assert dump[0] == "array"
    got = {key[1]: value for key, value in dump[1]}
    expected = dict(VALUES, constant=None)
    assert set(got) == set(expected)
    for name, value in VALUES.items():
        assert doubles_as_floats(got[name]) == doubles_as_floats(expected_typed(value)), name
    # LOG_LOCAL3 is (19 << 3) on Linux.
    assert got["constant"] == ["integer", 152]


def test_file_passes_php_lint_and_keeps_mode(ct, roundtrip):
    assert ct.run("php -l %s", CONF).rc == 0
    assert ct.file(CONF).mode == 0o640


def test_second_run_and_check_mode_change_nothing(roundtrip):
    text = flat(roundtrip)
    assert "first run changed the file: True" in text
    assert "second run changed: False" in text
    assert "check mode changed: True, file untouched: True" in text
    assert "broken candidate refused: True, file untouched: True" in text
