"""``caffelite evaluate-detection``: score KITTI-format predictions against
KITTI labels (VOC and COCO AP per class, DetectNet's precision/recall/mAP,
a precision-recall curve PNG)."""


def register(subparsers):
    p = subparsers.add_parser(
        'evaluate-detection', help='VOC/COCO AP and DetectNet mAP of KITTI-format predictions',
        description='Score a folder of predictions (KITTI rows with a 16th field, the '
                    'score; foo.txt per image) against a folder of KITTI labels.')
    p.add_argument('predictions', metavar='PREDICTIONS', help='folder of prediction files')
    p.add_argument('labels', metavar='LABELS', help='folder of KITTI label files')
    p.add_argument('--classes', default=None, metavar='A,B',
                   help='classes to score (default: every type in the labels but DontCare)')
    p.add_argument('--plot', default=None, metavar='PNG', help='write precision-recall curves')
    p.add_argument('--json', default=None, metavar='FILE', help='write the numbers as JSON')
    p.set_defaults(func=run)


def run(args):
    import json
    from ..detection import evaluate, scoring
    from ..protoio import atomic_open
    classes = [c.strip().lower() for c in args.classes.split(',')] if args.classes else None
    results = evaluate.evaluate_folders(args.predictions, args.labels, classes)
    print(evaluate.table(results))
    if args.plot:
        scoring.plot_pr_curves(results, args.plot)
        print('precision-recall curves written to %s' % args.plot)
    if args.json:
        with atomic_open(args.json, 'w') as f:
            json.dump({r.name: {'objects': r.n_truth, 'detections': r.n_detections,
                                'voc_ap': r.voc_ap, 'coco_ap': r.coco_ap,
                                'detectnet_precision': r.detectnet[0],
                                'detectnet_recall': r.detectnet[1],
                                'detectnet_map': r.detectnet[2]} for r in results}, f, indent=1)
    return 0
