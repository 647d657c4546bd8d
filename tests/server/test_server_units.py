"""Pieces of the server without a server: safe unpacking, path checks,
content negotiation, events and the SVG drawing of a network."""
import asyncio
import io
import os
import tarfile
import zipfile
from types import SimpleNamespace

import pytest
from starlette.exceptions import HTTPException

from caffelite.digits import networks
from caffelite.server import archives, events, model_requests, netsvg, security, views_jobs, web


def tar_with(tmp_path, member, data=b'x'):
    path = str(tmp_path / 'a.tar.gz')
    with tarfile.open(path, 'w:gz') as t:
        t.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return path


@pytest.mark.parametrize('name', ['/etc/evil', '../evil', 'a/../../evil', 'C:/evil'])
def test_members_must_stay_inside(tmp_path, name):
    member = tarfile.TarInfo(name)
    member.size = 1
    with pytest.raises(archives.ArchiveError, match='outside the archive'):
        archives.unpack(tar_with(tmp_path, member), str(tmp_path / 'out'), 100)
    assert not os.path.exists(tmp_path / 'out')


def test_links_and_devices_are_refused(tmp_path):
    link = tarfile.TarInfo('class/link.png')
    link.type, link.linkname = tarfile.SYMTYPE, '/etc/passwd'
    with pytest.raises(archives.ArchiveError, match='not a regular file'):
        archives.unpack(tar_with(tmp_path, link), str(tmp_path / 'out'), 100)
    zipped = str(tmp_path / 'l.zip')
    with zipfile.ZipFile(zipped, 'w') as z:
        info = zipfile.ZipInfo('class/link.png')
        info.external_attr = 0o120777 << 16
        z.writestr(info, '/etc/passwd')
    with pytest.raises(archives.ArchiveError, match='symbolic link'):
        archives.unpack(zipped, str(tmp_path / 'out'), 100)


def test_unpacked_size_is_capped(tmp_path):
    zipped = str(tmp_path / 'bomb.zip')
    with zipfile.ZipFile(zipped, 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('a/b.png', b'\0' * 100000)
    with pytest.raises(archives.ArchiveError, match='more than the allowed size'):
        archives.unpack(zipped, str(tmp_path / 'out'), 50000)
    archives.unpack(zipped, str(tmp_path / 'out'), 200000)
    assert os.path.getsize(tmp_path / 'out' / 'a' / 'b.png') == 100000


def test_single_wrapping_folder_is_the_image_root(tmp_path):
    os.makedirs(tmp_path / 'top' / 'cats')
    assert archives.image_root(str(tmp_path)) == str(tmp_path / 'top')
    os.makedirs(tmp_path / 'dogs')
    assert archives.image_root(str(tmp_path)) == str(tmp_path)


def test_server_paths_resolve_inside_the_roots(tmp_path):
    root = tmp_path / 'root'
    os.makedirs(root / 'in')
    os.symlink(str(tmp_path), str(root / 'out'))
    roots = (os.path.realpath(root),)
    assert security.resolve_server_path(str(root / 'in'), roots) == os.path.realpath(root / 'in')
    for path in (str(root / 'out'), str(root / 'in' / '..' / '..'), str(tmp_path)):
        with pytest.raises(HTTPException) as e:
            security.resolve_server_path(path, roots)
        assert e.value.status_code == 403
    with pytest.raises(HTTPException) as e:
        security.resolve_server_path('in', roots)
    assert e.value.status_code == 400
    with pytest.raises(HTTPException, match='--data-root'):
        security.resolve_server_path(str(root / 'in'), ())


@pytest.mark.parametrize('path, accept, expected', [
    ('/models/x.json', '', True), ('/models/x', '', False), ('/models/x', '*/*', False),
    ('/models/x', 'application/json', True),
    ('/models/x', 'text/html,application/xhtml+xml,*/*;q=0.8', False),
    ('/models/x', 'application/json, text/html;q=0.5', True)])
def test_json_or_html(path, accept, expected):
    scope = {'path': path, 'headers': [(b'accept', accept.encode())]}
    assert web.wants_json(scope) is expected


def test_cross_origin_markers():
    scope = {'scheme': 'http'}
    assert security.cross_origin(scope, {'origin': 'http://evil', 'host': 'me:5000'})
    assert not security.cross_origin(scope, {'origin': 'http://me:5000', 'host': 'me:5000'})
    assert security.cross_origin(scope, {'sec-fetch-site': 'same-site'})
    assert not security.cross_origin(scope, {'sec-fetch-site': 'same-origin'})
    assert not security.cross_origin(scope, {})


def test_event_format():
    assert events.format_event('status', {'job_id': 'j', 'status': 'Done'}) == \
        'event: status\ndata: {"job_id":"j","status":"Done"}\n\n'


def test_a_client_too_slow_for_its_events_has_its_stream_ended():
    """A dropped subscriber's stream ends (its EventSource reconnects and is
    sent the current status first) instead of staying open without events."""
    async def read_after_overflow():
        bus = events.EventBus(queue_limit=3)
        stream = events.stream(bus, 'j', lambda: [('status', {'job_id': 'j', 'status': 'Running'})])
        first = await stream.__anext__()
        for i in range(4):
            bus.publish('j', 'progress', percentage=i, eta=None)
        rest = [text async for text in stream]
        return first, rest, bus.channels

    first, rest, channels = asyncio.run(asyncio.wait_for(read_after_overflow(), 5))
    assert '"Running"' in first and rest == [] and channels == {}


def test_a_status_changed_while_a_job_event_stream_opens_reaches_it():
    """The job's state sent first is read once the stream is subscribed: a
    job aborted between the request and the stream's start (the response
    starts in another task) shows Aborted, not Running forever."""
    async def opened_during_an_abort():
        job = dict(id='j', type='dataset', status='Running', error=None, progress=0.5, eta=None)
        state = SimpleNamespace(bus=events.EventBus(), store=SimpleNamespace(jobs={'j': job}))
        request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(server=state)),
                                  path_params={'job_id': 'j'})
        response = await views_jobs.job_events(request)
        job['status'] = 'Aborted'
        state.bus.publish('j', 'status', status='Aborted', error=None)
        chunks = response.body_iterator
        return [await chunks.__anext__() for _ in range(2)]

    status, progress = asyncio.run(asyncio.wait_for(opened_during_an_abort(), 5))
    assert status.startswith('event: status') and '"Aborted"' in status
    assert progress.startswith('event: progress') and '"percentage":50' in progress


def test_network_drawing_has_a_box_and_an_arrow_per_edge():
    net = networks.lenet()
    svg = netsvg.draw(net)
    assert svg.count('<rect') == len(net.layer)
    edges = sum(1 for i, layer in enumerate(net.layer) for b in layer.bottom
                if any(b in earlier.top for earlier in net.layer[:i]))
    assert svg.count('<line') == edges
    assert '&lt;' not in svg and 'conv1' in svg


def caffe_log(*messages):
    return ['I1201 10:00:00.000000 42 solver.py:1] %s' % m for m in messages]


def test_training_log_becomes_curves_and_a_resume_forgets_the_future(tmp_path):
    from caffelite.server import models
    job = {'max_iter': 20, 'form': {'train_epochs': 2}, 'progress': 0.0}
    lines = caffe_log('Iteration 0 (1 iter/s, 1s/1 iters), loss = 2.5',
                      '    Train net output #0: loss = 2.5 (* 1 = 2.5 loss)',
                      'Iteration 0, lr = 0.01',
                      'Iteration 10, Testing net (#0)',
                      '    Test net output #0: accuracy = 0.5',
                      'Iteration 15 (1 iter/s, 1s/1 iters), loss = 1.5',
                      '    Train net output #0: loss = 1.5 (* 1 = 1.5 loss)',
                      'Restoring previous solver status from snapshot_iter_10.solverstate',
                      'Iteration 12 (1 iter/s, 1s/1 iters), loss = 1.25',
                      '    Train net output #0: loss = 1.25 (* 1 = 1.25 loss)')
    (tmp_path / 'caffe_output.log').write_text('\n'.join(lines) + '\n')
    models.replay_log(job, str(tmp_path))
    assert job['train_outputs'] == {'loss': [[0.0, 2.5], [1.2, 1.25]],
                                    'learning_rate': [[0.0, 0.01]]}
    assert job['val_outputs'] == {'accuracy': [[1.0, 0.5]]}


def test_nan_and_error_lines_name_the_failure(tmp_path):
    from caffelite.server import models
    job = {'max_iter': 10, 'form': {'train_epochs': 1}, 'progress': 0.0}
    watch = models.TrainingProgress(job, str(tmp_path), lambda *a, **k: None, replay=True)
    for line in caffe_log('Iteration 3 (1 iter/s, 1s/1 iters), loss = nan',
                          '    Train net output #0: loss = nan (* 1 = nan loss)'):
        watch.feed(line)
    assert watch.error['type'] == 'NaNError' and '"loss"' in watch.error['message']
    watch.feed('E1201 10:00:00.000000 42 worker.py:1] WeightsError: conv1 has 2 blobs')
    assert watch.error == {'type': 'WeightsError', 'message': 'conv1 has 2 blobs'}


def test_a_reserved_job_folder_is_removed_when_its_block_fails(tmp_path):
    from caffelite.server.jobs import JobStore
    store = JobStore(str(tmp_path))
    with pytest.raises(ValueError):
        with store.reserved() as job_id:
            open(store.path(job_id, 'half.txt'), 'w').close()
            raise ValueError('the form was wrong')
    assert not os.path.exists(store.path(job_id)) and job_id not in store.jobs
    with store.reserved() as kept:
        store.add(kept, {'type': 'dataset'})
    assert os.path.isdir(store.path(kept)) and store.jobs[kept]['id'] == kept


def test_an_upload_that_is_no_image_is_called_the_upload():
    # checked before the model is looked at, so no job is needed
    with pytest.raises(HTTPException) as error:
        model_requests.classify_image(None, None, None, io.BytesIO(b'plain text'))
    assert error.value.status_code == 400
    assert error.value.detail == 'cannot read the image: cannot identify image file the upload'


def test_an_aborted_job_has_digits_status_name_also_when_read_from_an_older_state(tmp_path):
    import json
    from caffelite.server import jobs
    assert jobs.ABORT == 'Aborted'                      # DIGITS' Status.name for 'A'
    job_id = '20261201-000000-abcd'
    os.makedirs(str(tmp_path / job_id))
    with open(str(tmp_path / job_id / jobs.STATE_FILE), 'w') as f:
        json.dump({'type': 'model', 'status': 'Abort', 'created': 0}, f)
    store = jobs.JobStore(str(tmp_path))
    assert store.load_all() == [] and store.jobs[job_id]['status'] == 'Aborted'
