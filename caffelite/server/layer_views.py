"""The page of a single-image test (DIGITS' classify_one in a browser): the
server's answer (the top 5 and, on request, each layer's visualization from
:mod:`caffelite.digits.visualize`) shown with the image as the network saw
it (the dataset's size and resize mode). The JSON route stays the API's."""
import io

from starlette.concurrency import run_in_threadpool

from ..digits import forms
from ..digits.visualize import png_data_uri
from . import views_models
from .views_jobs import server
from .web import read_form, render, wants_json


def seen_image(state, job, epoch, image):
    """A PNG data URI of ``image`` resized as the model's dataset was."""
    loaded = views_models._classifier(state, job, epoch)
    with loaded.lock:
        if hasattr(image, 'seek'):
            image.seek(0)
        picture = loaded.classifier.load(image)
    return png_data_uri(picture[:, :, 0] if picture.shape[2] == 1 else picture)


async def classify_one_page(request):
    """POST /models/images/classification/classify_one: JSON answers as the
    API does; a browser gets the page of the result."""
    if wants_json(request):
        return await views_models.classify_one(request)
    state = server(request)
    fields, files = await read_form(request)
    job = views_models._model(request, fields)
    image = views_models._image_source(state, fields, files)
    if not isinstance(image, str):
        image = io.BytesIO(await image.read())
    epoch = views_models._epoch(fields)
    visualize = forms.Field('bool', False).convert(fields.get('show_visualizations') or '')
    answer = await run_in_threadpool(views_models._classify_one, state, job, epoch, image,
                                     visualize)
    answer['image'] = await run_in_threadpool(seen_image, state, job, epoch, image)
    return render(request, 'models/images/classification/classify_one.html', dict(
        answer, job_id=job['id'], name=job['name'], snapshot_epoch=epoch))
