"""``caffelite plot LOG OUT.png``: loss, accuracy and learning rate curves
against iterations (and epochs when the log knows them), as DIGITS shows."""
from ..errors import CaffeError
from ..protoio import atomic_open
from ..training_log import parse_log


def register(subparsers):
    p = subparsers.add_parser('plot', help='plot training curves from a training log')
    p.add_argument('log', help='a caffelite JSON-lines log or a Caffe text log')
    p.add_argument('out', help='output image (.png, .svg, .pdf)')
    p.set_defaults(func=run)


def _series(points, key, x='iter'):
    pairs = [(p[x], p[key]) for p in points if key in p and p.get(x) is not None]
    return [a for a, _ in pairs], [b for _, b in pairs]


def plot(curves, out):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, (ax_loss, ax_lr) = plt.subplots(2, 1, figsize=(9, 7), sharex=True,
                                         gridspec_kw={'height_ratios': [3, 1]})
    ax_loss.plot(*_series(curves['train'], 'loss'), label='loss (train)', color='tab:blue')
    test_keys = sorted({k for p in curves['test'] for k in p} - {'iter', 'epoch'})
    ax_acc = ax_loss.twinx()
    colors = ['tab:orange', 'tab:red', 'tab:purple', 'tab:brown', 'tab:pink', 'tab:olive']
    for key, color in zip(test_keys, colors * len(test_keys)):
        target = ax_acc if 'acc' in key else ax_loss
        target.plot(*_series(curves['test'], key), marker='o', color=color,
                    label='%s (val)' % key)
    ax_loss.set_ylabel('loss')
    ax_acc.set_ylabel('accuracy')
    ax_acc.set_ylim(0, 1)
    lines = ax_loss.get_legend_handles_labels()
    extra = ax_acc.get_legend_handles_labels()
    ax_loss.legend(lines[0] + extra[0], lines[1] + extra[1], loc='center right')
    ax_lr.plot(*_series(curves['lr'], 'lr'), color='tab:green')
    ax_lr.set_ylabel('learning rate')
    ax_lr.set_xlabel('iteration')
    epochs = [p for p in curves['train'] if p.get('epoch')]
    if epochs:
        per_epoch = epochs[-1]['iter'] / epochs[-1]['epoch']
        top = ax_loss.secondary_xaxis('top', functions=(lambda i: i / per_epoch,
                                                         lambda e: e * per_epoch))
        top.set_xlabel('epoch')
    fig.tight_layout()
    fmt = out.rsplit('.', 1)[-1].lower()
    with atomic_open(out, 'wb') as f:
        fig.savefig(f, format=fmt)
    plt.close(fig)


def run(args):
    curves = parse_log(args.log)
    if not curves['train'] and not curves['test']:
        raise CaffeError('%s: no training or test results found' % args.log)
    plot(curves, args.out)
    print('wrote %s' % args.out)
    return 0
