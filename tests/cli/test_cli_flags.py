"""The command line users expect: gflags' -flag and --flag for every flag
of every verb, one hyphenated spelling (Caffe's underscores accepted),
gflags booleans, --version, help that gives every default; log lines that
keep their own line beside a progress bar, and no bars off a terminal."""
import argparse
import io
import logging
import sys

import pytest

import caffelite
from caffelite.cli import build_parser, main
from caffelite.cli._common import setup_logging
from caffelite.progress import progress_bar
from model_files import tiny_model


def parsers(parser=None, path=()):
    """(command path, parser) of the caffelite command and every sub-command."""
    parser = parser or build_parser()
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from parsers(sub, path + (name,))


def test_one_spelling_style_for_every_option():
    for path, parser in parsers():
        for action in parser._actions:
            for option in action.option_strings:
                assert option == '-h' or (option.startswith('--') and option == option.lower()
                                          and '_' not in option), (path, option)


def test_help_gives_every_default():
    for path, parser in parsers():
        formatter = parser._get_formatter()
        for action in parser._actions:
            if (action.option_strings and action.default not in (None, argparse.SUPPRESS)
                    and not action.required and action.help is not argparse.SUPPRESS):
                assert 'default' in formatter._get_help_string(action), (path, action.dest)
    text = build_parser()._subparsers._group_actions[0].choices['train'].format_help()
    assert '--sigint-effect' in text and '(default: stop)' in text


@pytest.mark.parametrize('argv', [
    ['train', '-solver', 's.prototxt', '-sigint_effect', 'snapshot', '-gpu=0'],
    ['train', '--solver=s.prototxt', '--sigint_effect=snapshot', '--gpu', '0'],
    ['train', '--solver', 's.prototxt', '--sigint-effect', 'snapshot', '-gpu', '0'],
])
def test_gflags_spellings_parse_alike(argv):
    args = build_parser().parse_args(argv)
    assert (args.solver, args.sigint_effect, args.gpu) == ('s.prototxt', 'snapshot', '0')


@pytest.mark.parametrize('flags, gray, shuffle', [
    (['-gray', '-shuffle'], True, True),
    (['-gray=true', '--shuffle=1'], True, True),
    (['-gray=false', '-noshuffle'], False, False),
    (['--nogray', '-shuffle=no'], False, False),
])
def test_gflags_booleans(flags, gray, shuffle):
    args = build_parser().parse_args(['convert_imageset'] + flags + ['root/', 'list', 'db'])
    assert (args.gray, args.shuffle) == (gray, shuffle)


def test_bad_boolean_and_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(['convert_imageset', '-gray=maybe', 'r', 'l', 'd'])
    assert exit_.value.code == 1 and "expected true or false, got 'maybe'" in \
        capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(['--version'])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == \
        'caffelite version ' + caffelite.__version__


class Terminal(io.StringIO):
    def isatty(self):
        return True


def screen(text):
    """The lines a terminal shows after ``text``: a carriage return moves
    back to column 0 and the next characters overwrite the line."""
    lines, row, col = [[]], 0, 0
    for char in text:
        if char == '\n':
            lines.append([])
            row, col = row + 1, 0
        elif char == '\r':
            col = 0
        else:
            line = lines[row]
            line[col:col + 1] = [char]
            col += 1
    return [''.join(line).rstrip() for line in lines]


def test_log_lines_and_a_progress_bar_share_the_terminal(monkeypatch):
    term = Terminal()
    monkeypatch.setattr(sys, 'stderr', term)
    log = setup_logging(term)
    bar = progress_bar(total=10, unit='iter', leave=False)
    try:
        for i in range(10):
            bar.update(1)
            if i in (3, 6):
                log.info('Iteration %d, loss = 0.5', i)
    finally:
        bar.close()
        logging.getLogger('caffelite').handlers.clear()
    shown = screen(term.getvalue())
    logged = [line for line in shown if 'Iteration' in line]
    assert len(logged) == 2
    assert all(line.split('] ', 1)[1] in ('Iteration 3, loss = 0.5', 'Iteration 6, loss = 0.5')
               and line.startswith('I') and 'it/s' not in line for line in logged)


def test_no_bars_without_a_terminal(monkeypatch):
    pipe = io.StringIO()
    monkeypatch.setattr(sys, 'stderr', pipe)
    for _ in progress_bar(range(50), desc='train'):
        pass
    assert pipe.getvalue() == ''


def test_every_caffe_verb_takes_every_flag_of_caffe_and_says_which_it_ignores(tmp_path, capsys):
    """gflags defines caffe's flags for the whole tool: ``caffe test ...
    -solver s.prototxt`` runs, the flag unused. caffelite runs it too and
    says so."""
    model, weights = tiny_model(tmp_path)
    assert main(['test', '-model', model, '-weights', weights, '-iterations', '1',
                 '-solver', 'solver.prototxt', '--sigint_effect=none']) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[:2] == ['caffelite test: -sigint_effect is not used by test: ignored, as caffe does',
                       'caffelite test: -solver is not used by test: ignored, as caffe does']
    args = build_parser().parse_args(['train', '-solver', 's', '-iterations', '5', '-model', 'm'])
    assert (args.solver, args.ignored_iterations, args.ignored_model) == ('s', '5', 'm')
    assert '--iterations' not in build_parser().subcommands['train'].format_help()  # unlisted
