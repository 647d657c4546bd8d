"""The web pages of ``caffelite serve``: DIGITS' pages at DIGITS' routes.

The JSON views render their template with the data their JSON answer
carries (:func:`caffelite.server.web.render`); what a page shows beyond
that (the datasets a model form can pick, a job's files, its logs, a gallery
of its databases...) is added here, per template, by :data:`PAGE_CONTEXT`.
The routes the pages need that the JSON API lacks (resize preview, folder
and network checks, DB gallery, a single-image test with layer
visualizations, pretrained model upload) are added by :func:`install`, with
the static files (CSS, the pages' JavaScript and its chart module).
"""
import os

from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import gallery, layer_views, page_data, previews, pretrained
from .web import TEMPLATES

STATIC = os.path.join(os.path.dirname(__file__), 'static')

# template -> function(request, data) returning the extra context of the page
PAGE_CONTEXT = {
    'home.html': page_data.home,
    'datasets/images/classification/new.html': page_data.dataset_form,
    'datasets/images/classification/show.html': page_data.dataset_page,
    'datasets/generic/new.html': page_data.detection_dataset_form,
    'datasets/generic/new_processing.html': page_data.processing_dataset_form,
    'datasets/generic/new_sunnybrook.html': page_data.sunnybrook_dataset_form,
    'datasets/generic/show.html': page_data.detection_dataset_page,
    'datasets/images/generic/new.html': page_data.prebuilt_dataset_form,
    'datasets/images/generic/show.html': page_data.prebuilt_dataset_page,
    'models/images/classification/new.html': page_data.model_form,
    'models/images/generic/new.html': page_data.model_form,
    'models/images/classification/show.html': page_data.model_page,
    'models/images/classification/top_n.html': page_data.top_n,
    'pretrained_models/show.html': page_data.pretrained_page,
}


def page_context(request, template, data):
    """The extra context of ``template`` (see PAGE_CONTEXT)."""
    extra = PAGE_CONTEXT.get(template)
    return extra(request, data) if extra else {}


def routes():
    """The routes the pages add to the JSON API (tried before its routes)."""
    table = [
        ('/datasets/images/resize-example', previews.resize_example, ['POST']),
        ('/datasets/images/resize-example.json', previews.resize_example, ['POST']),
        ('/datasets/images/classification/check-folder.json', previews.check_folder, ['POST']),
        ('/datasets/images/classification/explore', gallery.explore, ['GET']),
        ('/datasets/generic/explore', gallery.explore_generic, ['GET']),
        ('/models/images/classification/check-network.json', previews.check_network,
         ['POST']),
        ('/models/images/classification/classify_one', layer_views.classify_one_page,
         ['POST']),
        ('/pretrained_models/new', pretrained.upload, ['POST']),
        ('/pretrained_models/new.json', pretrained.upload, ['POST']),
        ('/pretrained_models/upload_archive', pretrained.upload_archive, ['POST']),
    ]
    return [Route(path, endpoint, methods=methods) for path, endpoint, methods in table]


def install(app):
    """Add the pages' routes, static files and context to ``app``."""
    app.router.routes[0:0] = routes()
    app.router.routes.append(Mount('/static', StaticFiles(directory=STATIC), name='static'))
    app.state.page_context = page_context
    TEMPLATES.env.filters['duration'] = page_data.duration_text
    TEMPLATES.env.filters['timestamp'] = page_data.time_text
    TEMPLATES.env.filters['form_value'] = page_data.form_value
