"""Pictures of the pages: Datums as data URIs and the DB gallery."""
import base64

import numpy as np

from caffelite import codec
from caffelite.server import gallery
from caffelite.tools.dataset import digits_datum
from server_fixtures import data_root, dataset, server  # noqa: F401 (fixtures)


def test_datum_uris_keep_encoded_bytes_and_encode_raw_pixels():
    pixels = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    encoded = digits_datum(pixels, 1, 'png')
    assert gallery.datum_uri(encoded) == ('data:image/png;base64,'
                                          + base64.b64encode(encoded.data).decode())
    raw = gallery.datum_uri(digits_datum(pixels, 1, ''))
    from PIL import Image
    import io
    with Image.open(io.BytesIO(base64.b64decode(raw.split(',', 1)[1]))) as img:
        assert np.array_equal(np.asarray(img), pixels)  # BGR bytes back to RGB
    # float data (16-bit DICOM pixels) is stretched over 0-255 to be seen
    sixteen = codec.array_to_datum(np.array([[[1000, 1500], [2000, 3040]]], np.int32))
    with Image.open(io.BytesIO(base64.b64decode(
            gallery.datum_uri(sixteen).split(',', 1)[1]))) as img:
        assert np.asarray(img).tolist() == [[0, 62], [125, 255]]


def test_explore_pages_one_class(server, dataset):
    r = server.client.get('/datasets/images/classification/explore',
                          params={'job_id': dataset, 'db': 'train', 'size': '10', 'label': '1'})
    assert r.status_code == 200
    assert r.text.count('<figcaption>light</figcaption>') == 10
    assert 'dark</figcaption>' not in r.text
    db = '%s/%s/train_db' % (server.jobs_dir, dataset)
    everything = gallery.db_page(db, 0, 1000)
    assert everything['total'] == 69 and len(everything['images']) == 69
    last = gallery.db_page(db, 6, 10)
    assert [i['key'] for i in last['images']] == [i['key'] for i in everything['images'][60:]]
    missing = server.client.get('/datasets/images/classification/explore',
                                params={'job_id': dataset, 'db': 'test'})
    assert missing.status_code == 404 and 'no test database' in missing.text
