"""Request and response helpers shared by the views: JSON or HTML by the
route (DIGITS' ``request_wants_json``), DIGITS' error shapes, form reading,
and the username DIGITS asks for before a job is created or changed.

Every HTML page is a Jinja2 template under ``templates/`` rendered with the
same data the JSON answer carries, so the pages are filled in one place;
what a page shows beyond that data comes from ``app.state.page_context``
(see :mod:`caffelite.server.pages`).
"""
import os
import re

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.templating import Jinja2Templates

TEMPLATES = Jinja2Templates(directory=os.path.join(os.path.dirname(__file__), 'templates'))
USERNAME = re.compile(r'^[a-z][a-z0-9._-]*$')


class FormErrors(Exception):
    """Form fields that failed validation: {field: [messages]} (HTTP 400)."""

    def __init__(self, errors):
        super().__init__('; '.join('%s: %s' % (k, ' '.join(v)) for k, v in errors.items()))
        self.errors = errors


def _quality(accepted, media):
    """The q of ``media`` in an Accept header, wildcards included."""
    for key in (media, media.split('/')[0] + '/*', '*/*'):
        if key in accepted:
            return accepted[key]
    return 0.0


def wants_json(request_or_scope):
    """JSON for paths ending in .json, or when Accept prefers JSON to HTML."""
    scope = getattr(request_or_scope, 'scope', request_or_scope)
    if scope['path'].endswith('.json'):
        return True
    accept = dict(scope.get('headers', [])).get(b'accept', b'').decode('latin-1')
    accepted = {}
    for part in accept.split(','):
        media, _, params = part.strip().partition(';')
        m = re.search(r'q=([0-9.]+)', params)
        accepted[media.strip()] = float(m.group(1)) if m else 1.0
    return _quality(accepted, 'application/json') > _quality(accepted, 'text/html')


def render(request, template, data, status=200):
    """``data`` as JSON, or the HTML ``template`` with ``data`` in it."""
    if wants_json(request):
        return JSONResponse(data, status)
    context = {'data': data}
    page_context = getattr(request.app.state, 'page_context', None)
    if page_context is not None:
        context.update(page_context(request, template, data))
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status)


def error_response(scope, status, message, kind, errors=None, description=None):
    """DIGITS' error answers: {"errors": {field: [...]}} for form fields,
    {"error": {"message", "type"}} otherwise, with "description" for an
    HTTP error (DIGITS' werkzeug exceptions have one); an HTML page for
    browsers."""
    payload = ({'errors': errors} if errors is not None
               else {'error': {'message': message, 'type': kind}})
    if errors is None and description is not None:
        payload['error']['description'] = description
    if wants_json(scope):
        return JSONResponse(payload, status)
    body = TEMPLATES.get_template('error.html').render(
        status=status, message=message, type=kind, errors=errors)
    return HTMLResponse(body, status)


async def read_form(request):
    """(fields {name: str}, files {name: UploadFile}) of a form body or the
    query string. Repeated fields keep their last value."""
    fields = dict(request.query_params)
    files = {}
    if request.method in ('POST', 'PUT', 'DELETE'):
        form = await request.form()
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if value.filename:
                    files[key] = value
            else:
                fields[key] = value
    return fields, files


def username(request, fields):
    """The user of a request: the ``username`` field, else the cookie."""
    return (fields.get('username') or request.cookies.get('username') or '').strip() or None


def require_login(request, fields):
    """The valid username of a request that creates or changes a job."""
    name = username(request, fields)
    if not name:
        raise HTTPException(401, 'log in first: POST /login with a username (its cookie '
                                 'then goes with each request), or send the username field')
    check_username(name)
    return name


def check_username(name):
    if not USERNAME.match(name):
        raise HTTPException(400, 'Invalid username - must start with a lowercase letter and '
                                 'hold only lowercase letters, numbers, periods, dashes and '
                                 'underscores')


def require_permission(job, user):
    """DIGITS' rule: only a job's creator may change or delete it."""
    if job.get('username') and job['username'] != user:
        raise HTTPException(403, 'job %s belongs to %s' % (job['id'], job['username']))


def redirect(url):
    return RedirectResponse(url, status_code=302)


def job_id_from(request, fields):
    """The ``job_id`` of a request (query string or form), required."""
    job_id = fields.get('job_id') or request.path_params.get('job_id')
    if not job_id:
        raise HTTPException(400, 'job_id is a required field')
    return job_id
