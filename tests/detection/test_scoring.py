"""Average precision against hand-worked cases, DetectNet's metrics, and
``caffelite evaluate-detection`` on KITTI folders."""
import json

import numpy as np
import pytest

from caffelite.cli import main
from caffelite.detection import kitti, scoring

G = scoring.GroundTruth
D = scoring.Detections


def truth(*boxes, ignore=()):
    boxes = np.array(boxes, np.float64).reshape(-1, 4)
    return G(boxes, np.array([i in ignore for i in range(len(boxes))], bool))


def test_iou():
    iou = scoring.iou_matrix([[0, 0, 10, 10]], [[5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 10, 10]])
    np.testing.assert_allclose(iou, [[50 / 150, 0, 1]])


def test_voc_and_coco_ap_hand_worked():
    # two objects; by score: a hit, a miss, a hit -> precision 1, 1/2, 2/3
    # at recall 1/2, 1/2, 1: VOC AP = 1/2 * 1 + 1/2 * 2/3 = 5/6
    t = [truth([0, 0, 10, 10], [20, 20, 30, 30])]
    d = [D(np.array([[0, 0, 10, 10], [50, 50, 60, 60], [20, 20, 30, 30]], float),
           np.array([0.9, 0.8, 0.7]))]
    r = scoring.evaluate_class('x', t, d)
    assert r.voc_ap == pytest.approx(5 / 6)
    # COCO: 51 recall points (0 .. 0.5) at precision 1, 50 at 2/3, at every IoU
    assert r.coco_ap == pytest.approx((51 + 50 * 2 / 3) / 101)
    np.testing.assert_allclose(r.precision, [1, 1 / 2, 2 / 3])
    np.testing.assert_allclose(r.recall, [1 / 2, 1 / 2, 1])


def test_duplicates_loose_boxes_and_ignored_regions():
    # the duplicate of a found object is a false positive (VOC); a box at
    # IoU 0.6 counts for VOC (0.5) and for COCO up to 0.6
    t = [truth([0, 0, 10, 10], [100, 100, 120, 120], ignore=(1,))]
    d = [D(np.array([[0, 0, 10, 6], [0, 0, 10, 10], [101, 101, 120, 120]], float),
           np.array([0.9, 0.8, 0.7]))]
    r = scoring.evaluate_class('x', t, d)
    # ranked: hit (IoU .6), duplicate (false), ignored -> AP 1
    assert r.n_truth == 1 and r.voc_ap == pytest.approx(1.0)
    # COCO: at 0.5, 0.55 and 0.6 (inclusive) the first box hits (AP 1);
    # above, it misses and the second hits: precision 1/2 at recall 1
    assert r.coco_ap == pytest.approx((3 * 1.0 + 7 * 0.5) / 10)


def test_no_detections_and_no_truth():
    r = scoring.evaluate_class('x', [truth([0, 0, 5, 5])], [D(np.zeros((0, 4)), np.zeros(0))])
    assert (r.voc_ap, r.coco_ap, r.detectnet) == (0.0, 0.0, (0.0, 0.0, 0.0))
    assert scoring.mean_ap([r]) == 0.0


def test_detectnet_rule_is_greedy_in_truth_order():
    det_ok, truth_ok = scoring.detectnet_match(
        [[0, 0, 10, 10], [0, 0, 10, 9]], [[0, 0, 10, 9.5], [0, 0, 10, 10]])
    # the first truth box takes the first detection over IoU 0.7, though the
    # second detection fits it better
    assert det_ok.tolist() == [True, True] and truth_ok.tolist() == [True, True]
    assert scoring.detectnet_metrics(3, 1, 2) == (75.0, 60.0, 45.0)


def write(folder, rows):
    folder.mkdir(exist_ok=True)
    for stem, objects in rows.items():
        kitti.write_objects(str(folder / (stem + '.txt')), [
            kitti.KittiObject(t, 0.0, 0, 0.0, *box, 0, 0, 0, 0, 0, 0, 0, score)
            for t, box, score in objects])


def test_evaluate_detection_command(tmp_path, capsys):
    pytest.importorskip('matplotlib')
    write(tmp_path / 'labels', {'a': [('Car', (0, 0, 10, 10), None),
                                      ('Pedestrian', (20, 20, 30, 40), None),
                                      ('DontCare', (50, 50, 60, 60), None)],
                                'b': [('Car', (5, 5, 25, 25), None)]})
    write(tmp_path / 'pred', {'a': [('Car', (0, 0, 10, 10), 0.9),
                                    ('Car', (51, 51, 60, 60), 0.95),
                                    ('Pedestrian', (20, 22, 30, 40), 0.5)],
                              'b': [('Car', (5, 5, 25, 25), 0.2), ('Car', (70, 70, 80, 80), 0.8)]})
    assert main(['evaluate-detection', str(tmp_path / 'pred'), str(tmp_path / 'labels'),
                 '--plot', str(tmp_path / 'pr.png'), '--json', str(tmp_path / 'r.json')]) == 0
    out = capsys.readouterr().out
    assert 'car' in out and 'pedestrian' in out and 'dontcare' not in out
    numbers = json.load(open(tmp_path / 'r.json'))
    # car by score: ignored (DontCare), hit, false, hit -> precision 1, 1/2, 2/3
    assert numbers['car']['voc_ap'] == pytest.approx(5 / 6)
    assert numbers['pedestrian']['voc_ap'] == pytest.approx(1.0)
    assert (tmp_path / 'pr.png').stat().st_size > 1000


def test_evaluate_detection_bad_inputs(tmp_path, capsys):
    write(tmp_path / 'labels', {'a': [('Car', (0, 0, 10, 10), None)]})
    write(tmp_path / 'pred', {'z': [('Car', (0, 0, 10, 10), 0.9)]})
    assert main(['evaluate-detection', str(tmp_path / 'pred'), str(tmp_path / 'labels')]) == 1
    assert 'z.txt has no label file' in capsys.readouterr().err
    write(tmp_path / 'pred2', {'a': [('Car', (0, 0, 10, 10), None)]})
    assert main(['evaluate-detection', str(tmp_path / 'pred2'), str(tmp_path / 'labels')]) == 1
    assert 'need a 16th field' in capsys.readouterr().err
