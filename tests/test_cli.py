"""The shared command-line option types of rnnlib.cli: what they accept and the message
of what they refuse."""

import argparse
import os
import subprocess
import sys

import pytest

from rnnlib import cli


@pytest.mark.parametrize("parse, text, value", [
    (cli.positive_int, "3", 3), (cli.non_negative_int, "0", 0), (cli.positive_float, "0.5", 0.5),
    (cli.positive_float, "2", 2.0), (cli.int_list, "20, 50,100", [20, 50, 100]),
    (cli.choice_list("models", ("rnn", "lstm")), "lstm,rnn", ["lstm", "rnn"]),
])
def test_option_types_accept(parse, text, value):
    assert parse(text) == value


@pytest.mark.parametrize("parse, text, message", [
    (cli.positive_int, "0", "expected a positive integer, got '0'"),
    (cli.positive_int, "2.5", "expected an integer, got '2.5'"),
    (cli.non_negative_int, "-1", "expected an integer >= 0, got '-1'"),
    (cli.positive_float, "0", "expected a positive number, got '0'"),
    (cli.positive_float, "nan", "expected a positive number, got 'nan'"),
    (cli.positive_float, "inf", "expected a positive number, got 'inf'"),
    (cli.positive_float, "x", "expected a positive number, got 'x'"),
    (cli.int_list, "20,20", "repeated value in '20,20'"),
    (cli.int_list, "20,x", "expected an integer, got 'x'"),
    (cli.int_list, "20,0", "expected a positive integer, got '0'"),
    (cli.choice_list("models", ("rnn", "lstm")), "rnm",
     "unknown models ['rnm']; choose from rnn, lstm"),
    (cli.choice_list("models", ("rnn", "lstm")), ",", "unknown models ','; choose from rnn, lstm"),
])
def test_option_types_refuse_with_the_option_text(parse, text, message):
    with pytest.raises(argparse.ArgumentTypeError) as info:
        parse(text)
    assert str(info.value) == message


def test_output_file_problem(tmp_path):
    assert cli.output_file_problem(str(tmp_path / "new.json")) is None
    assert "does not exist" in cli.output_file_problem(str(tmp_path / "no" / "x.json"))
    assert "is a folder" in cli.output_file_problem(str(tmp_path))
    locked = tmp_path / "locked.json"
    locked.write_text("{}")
    locked.chmod(0o444)
    if os.geteuid() == 0:           # root may write any file: the folder check still holds
        assert cli.output_file_problem(str(locked)) is None
    else:
        assert "not writable" in cli.output_file_problem(str(locked))


def test_parser_errors_are_one_line_with_status_2():
    code = ("from rnnlib.cli import Parser, positive_int\n"
            "p = Parser(prog='demo'); p.add_argument('--n', type=positive_int)\n"
            "p.parse_args(['--n', '0'])\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "demo: error: argument --n: expected a positive integer, got '0' (see --help)"]
