"""Safe by default: an access token when the server listens beyond this
machine, refusal of state-changing requests a browser marks cross-origin,
a cap on request bodies, and server-side paths only under ``--data-root``.
"""
import hmac
import os
import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.exceptions import HTTPException

TOKEN_COOKIE = 'caffelite_token'
SAFE_METHODS = ('GET', 'HEAD', 'OPTIONS')
LOOPBACK = ('127.0.0.1', 'localhost', '::1')


class UploadTooLarge(HTTPException):
    def __init__(self, limit):
        super().__init__(413, 'the request body is larger than the %d MB upload limit '
                              '(caffelite serve --max-upload-mb)' % (limit >> 20))


def new_token():
    return secrets.token_urlsafe(24)


def needs_token(host):
    return host not in LOOPBACK


def resolve_server_path(path, roots, what='path'):
    """The real path of a server-side ``path`` given by a client, which must
    be absolute and, once symlinks are resolved, inside one of ``roots``
    (real paths). Raises HTTPException 403 (outside) or 400 (relative)."""
    if not roots:
        raise HTTPException(403, 'server-side paths are disabled: upload the file instead, '
                                 'or start caffelite serve with --data-root DIR to allow '
                                 '%s under DIR' % what)
    if not os.path.isabs(path):
        raise HTTPException(400, '%s %r is not an absolute path' % (what, path))
    real = os.path.realpath(path)
    for root in roots:
        if real == root or real.startswith(root.rstrip(os.sep) + os.sep):
            return real
    raise HTTPException(403, '%s %s is outside the allowed data roots (%s)'
                        % (what, path, ', '.join(roots)))


def _headers(scope):
    return {k.decode('latin-1').lower(): v.decode('latin-1') for k, v in scope['headers']}


def _supplied_token(scope, headers):
    """(token, from_query) the request carries: bearer header, ?token= or cookie."""
    auth = headers.get('authorization', '')
    if auth.lower().startswith('bearer '):
        return auth[7:].strip(), False
    query = parse_qs(scope.get('query_string', b'').decode('latin-1'))
    if query.get('token'):
        return query['token'][0], True
    cookie = SimpleCookie(headers.get('cookie', ''))
    if TOKEN_COOKIE in cookie:
        return cookie[TOKEN_COOKIE].value, False
    return None, False


def cross_origin(scope, headers):
    """Whether a browser marked this request as coming from another site."""
    if headers.get('sec-fetch-site') in ('cross-site', 'same-site'):
        return True
    origin = headers.get('origin')
    if origin is None:
        return False
    scheme = scope.get('scheme', 'http')
    return origin != '%s://%s' % (scheme, headers.get('host', ''))


class SecurityMiddleware:
    """ASGI middleware: token check, cross-origin refusal and body cap.
    ``refuse(scope, status, message)`` makes the error response."""

    def __init__(self, app, refuse, token=None, max_upload=None):
        self.app, self.refuse = app, refuse
        self.token, self.max_upload = token, max_upload

    async def __call__(self, scope, receive, send):
        if scope['type'] != 'http':
            return await self.app(scope, receive, send)
        headers = _headers(scope)
        set_cookie = False
        if self.token:
            supplied, from_query = _supplied_token(scope, headers)
            if not supplied or not hmac.compare_digest(supplied.encode(), self.token.encode()):
                return await self.refuse(scope, receive, send, 401,
                                         'a valid access token is required: send '
                                         '"Authorization: Bearer TOKEN" or open ?token=TOKEN once')
            set_cookie = from_query
        if scope['method'] not in SAFE_METHODS and cross_origin(scope, headers):
            return await self.refuse(scope, receive, send, 403,
                                     'cross-origin request refused')
        length = headers.get('content-length')
        if self.max_upload and length and length.isdigit() and int(length) > self.max_upload:
            return await self.refuse(scope, receive, send, 413,
                                     UploadTooLarge(self.max_upload).detail)
        if self.max_upload:
            receive = self._capped(receive)
        if set_cookie:
            send = self._with_cookie(send)
        await self.app(scope, receive, send)

    def _capped(self, receive):
        seen = [0]

        async def capped():
            message = await receive()
            if message['type'] == 'http.request':
                seen[0] += len(message.get('body', b''))
                if seen[0] > self.max_upload:
                    raise UploadTooLarge(self.max_upload)
            return message
        return capped

    def _with_cookie(self, send):
        cookie = ('%s=%s; HttpOnly; SameSite=Strict; Path=/' % (TOKEN_COOKIE, self.token))

        async def sending(message):
            if message['type'] == 'http.response.start':
                message['headers'] = list(message.get('headers', [])) + [
                    (b'set-cookie', cookie.encode('latin-1'))]
            await send(message)
        return sending
