"""Reading training logs: caffelite's JSON lines, or Caffe's text log (the
lines parsed by Caffe's tools/extra/parse_log.py and by DIGITS)."""
import json
import re

from .errors import ParseError
from .textfile import read_lines

_ITER = re.compile(r'Iteration (\d+)')
# a value as C++ streams print it: 0.23, 1e-05, and nan, -nan, inf, -inf
_NUMBER = r'([-+]?(?:nan|inf|\d*\.?\d+(?:[eE][-+]?\d+)?))'
_LOSS = re.compile(r'Iteration \d+.*, loss = ' + _NUMBER)
_LR = re.compile(r'Iteration \d+, lr = ' + _NUMBER)
_OUTPUT = re.compile(r'(Train|Test) net output #\d+: (\S+) = ' + _NUMBER)


def parse_log(path):
    """Return {'train': [{'iter', 'loss', outputs...}], 'test': [...],
    'lr': [{'iter', 'lr'}]} from either log format."""
    lines = read_lines(path)
    if lines and lines[0].lstrip().startswith('{'):
        return _parse_json(lines, path)
    return _parse_text(lines)


def _parse_json(lines, path):
    out = {'train': [], 'test': [], 'lr': []}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError as e:
            raise ParseError('not a JSON line (%s)' % e.msg, path, number) from None
        phase = event.get('phase')
        if phase == 'train':
            out['train'].append(dict(event.get('outputs', {}), iter=event['iter'],
                                     loss=event['loss'], epoch=event.get('epoch')))
        elif phase == 'test':
            out['test'].append(dict(event.get('outputs', {}), iter=event['iter'],
                                    epoch=event.get('epoch')))
        elif phase == 'lr':
            out['lr'].append({'iter': event['iter'], 'lr': event['lr'],
                              'epoch': event.get('epoch')})
    return out


def parse_line(line):
    """What one line of Caffe's text log reports, or None:
    ('iteration', iter), ('lr', iter, rate), ('loss', iter, smoothed loss),
    ('testing', iter) or ('output', 'Train'|'Test', name, value). The
    iteration is read from any line that names one."""
    m = _LR.search(line)
    if m:
        return ('lr', int(_ITER.search(line).group(1)), float(m.group(1)))
    m = _LOSS.search(line)
    if m:
        return ('loss', int(_ITER.search(line).group(1)), float(m.group(1)))
    if 'Testing net' in line:
        m = _ITER.search(line)
        return ('testing', int(m.group(1)) if m else None)
    m = _OUTPUT.search(line)
    if m:
        return ('output', m.group(1), m.group(2), float(m.group(3)))
    m = _ITER.search(line)
    return ('iteration', int(m.group(1))) if m else None


def _parse_text(lines):
    out = {'train': [], 'test': [], 'lr': []}
    it, current = 0, None
    for line in lines:
        event = parse_line(line)
        if event is None:
            continue
        kind = event[0]
        if kind in ('iteration', 'testing') and event[1] is not None:
            it = event[1]
        if kind == 'lr':
            it = event[1]
            out['lr'].append({'iter': it, 'lr': event[2], 'epoch': None})
        elif kind == 'loss':
            it = event[1]
            current = {'iter': it, 'loss': event[2], 'epoch': None}
            out['train'].append(current)
        elif kind == 'testing':
            current = {'iter': it, 'epoch': None}
            out['test'].append(current)
        elif kind == 'output' and current is not None:
            current.setdefault(event[2], event[3])
    return out
