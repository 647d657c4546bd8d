"""Reading training logs: caffelite's JSON lines, or Caffe's text log (the
lines parsed by Caffe's tools/extra/parse_log.py and by DIGITS)."""
import json
import re

_ITER = re.compile(r'Iteration (\d+)')
_LOSS = re.compile(r'Iteration \d+.*, loss = ([-+.\deE]+|nan|inf)')
_LR = re.compile(r'Iteration \d+, lr = ([-+.\deE]+)')
_OUTPUT = re.compile(r'(Train|Test) net output #\d+: (\S+) = ([-+.\deE]+|nan|inf)')


def parse_log(path):
    """Return {'train': [{'iter', 'loss', outputs...}], 'test': [...],
    'lr': [{'iter', 'lr'}]} from either log format."""
    with open(path) as f:
        first = f.readline()
        f.seek(0)
        if first.lstrip().startswith('{'):
            return _parse_json(f)
        return _parse_text(f)


def _parse_json(lines):
    out = {'train': [], 'test': [], 'lr': []}
    for line in lines:
        if not line.strip():
            continue
        event = json.loads(line)
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


def _parse_text(lines):
    out = {'train': [], 'test': [], 'lr': []}
    it, current = 0, None
    for line in lines:
        m = _ITER.search(line)
        if m:
            it = int(m.group(1))
        m = _LR.search(line)
        if m:
            out['lr'].append({'iter': it, 'lr': float(m.group(1)), 'epoch': None})
            continue
        m = _LOSS.search(line)
        if m:
            current = {'iter': it, 'loss': float(m.group(1)), 'epoch': None}
            out['train'].append(current)
            continue
        if 'Testing net' in line:
            current = {'iter': it, 'epoch': None}
            out['test'].append(current)
            continue
        m = _OUTPUT.search(line)
        if m and current is not None:
            current.setdefault(m.group(2), float(m.group(3)))
    return out
