'use strict';
/* What every page shares: calls to the JSON API with its errors shown on
   the page, the username DIGITS asks for before a job is created or changed,
   form field errors, live updates (Server-Sent Events), page regions
   refreshed from the server's own HTML, and keyboard-usable tabs. */
const CL = (() => {
  class ApiError extends Error {
    /* message; status (0: no answer); fields: {field: [messages]} of a form
       error; body: the parsed JSON answer, when there was one. */
    constructor(message, status, fields, body) {
      super(message);
      this.status = status;
      this.fields = fields || null;
      this.body = body || null;
    }
  }

  function cookie(name) {
    const found = document.cookie.split('; ').find((c) => c.startsWith(name + '='));
    return found ? decodeURIComponent(found.slice(name.length + 1)) : null;
  }

  function user() {
    return cookie('username');
  }

  function showUser() {
    const box = document.getElementById('user-box');
    if (!box) return;
    const name = user();
    box.textContent = '';
    if (name) {
      box.append('Logged in as ', Object.assign(document.createElement('strong'), {textContent: name}), ' · ');
      box.append(Object.assign(document.createElement('a'), {href: '/logout', textContent: 'Log out'}));
    } else {
      box.append(Object.assign(document.createElement('a'), {href: '/login?next=' + encodeURIComponent(location.pathname), textContent: 'Log in'}));
    }
  }

  function alert(message, kind) {
    /* Show a message at the top of the page (an error unless ``kind`` says
       info, success or warning); returns its element. */
    const box = document.getElementById('alerts');
    const div = document.createElement('div');
    div.className = 'alert ' + (kind || 'error');
    div.setAttribute('role', kind === 'error' || !kind ? 'alert' : 'status');
    div.textContent = message;
    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'close';
    close.setAttribute('aria-label', 'Dismiss');
    close.textContent = '×';
    close.addEventListener('click', () => div.remove());
    div.append(close);
    box.append(div);
    div.scrollIntoView({block: 'nearest'});
    return div;
  }

  function clearAlerts() {
    document.getElementById('alerts').textContent = '';
  }

  function errorText(error) {
    return error instanceof ApiError ? error.message : String(error && error.message || error);
  }

  async function errorOf(response) {
    /* The ApiError of a failed answer: DIGITS' {"errors": {field: [...]}}
       or {"error": {"message"}}, or the message of an HTML error page. */
    const type = response.headers.get('content-type') || '';
    if (type.includes('json')) {
      const body = await response.json().catch(() => null);
      if (body && body.errors) {
        const text = Object.entries(body.errors).map(([f, m]) => f + ': ' + [].concat(m).join(' ')).join('\n');
        return new ApiError(text, response.status, body.errors, body);
      }
      if (body && body.error) return new ApiError(body.error.message || body.error.type, response.status, null, body);
    } else if (type.includes('html')) {
      const doc = new DOMParser().parseFromString(await response.text(), 'text/html');
      const message = doc.getElementById('error-message');
      if (message) return new ApiError(message.textContent.trim(), response.status);
    }
    return new ApiError(response.status + ' ' + response.statusText, response.status);
  }

  async function api(url, options) {
    /* fetch ``url``; options: method, body (FormData or URLSearchParams),
       as ('json', 'html', 'text' or 'blob'). Resolves to the answer, or
       rejects with an ApiError carrying the server's message. */
    const opts = options || {};
    const as = opts.as || 'json';
    const accept = {json: 'application/json', html: 'text/html'}[as] || '*/*';
    let response;
    try {
      response = await fetch(url, {method: opts.method || 'GET', body: opts.body, headers: {Accept: accept},
                                   credentials: 'same-origin'});
    } catch (e) {
      throw new ApiError('The server cannot be reached (' + e.message + ')', 0);
    }
    if (!response.ok) throw await errorOf(response);
    if (as === 'json') return response.json();
    if (as === 'blob') return response.blob();
    return response.text();
  }

  /* --- the username ------------------------------------------------------ */
  function askUser() {
    /* Open the login dialog; resolves to the username, or null when cancelled. */
    const dialog = document.getElementById('login-dialog');
    const form = document.getElementById('login-form');
    const input = document.getElementById('login-username');
    const error = document.getElementById('login-error');
    error.textContent = '';
    return new Promise((resolve) => {
      const done = (value) => {
        form.removeEventListener('submit', submit);
        dialog.removeEventListener('cancel', cancel);
        document.getElementById('login-cancel').removeEventListener('click', cancel);
        if (dialog.open) dialog.close();
        resolve(value);
      };
      const cancel = (event) => { event.preventDefault(); done(null); };
      const submit = async (event) => {
        event.preventDefault();
        const body = new URLSearchParams({username: input.value.trim()});
        try {
          await api('/login', {method: 'POST', body});
          showUser();
          done(user());
        } catch (e) {
          error.textContent = errorText(e);
          input.focus();
        }
      };
      form.addEventListener('submit', submit);
      dialog.addEventListener('cancel', cancel);
      document.getElementById('login-cancel').addEventListener('click', cancel);
      dialog.showModal();
      input.focus();
    });
  }

  async function ensureUser() {
    return user() || askUser();
  }

  async function act(url, options) {
    /* A request that creates or changes a job: asks for the username first
       (as DIGITS does), shows an error on the page; resolves to the answer
       or null when it failed or was cancelled. */
    if (!(await ensureUser())) return null;
    try {
      return await api(url, options);
    } catch (e) {
      alert(errorText(e));
      return null;
    }
  }

  /* --- forms ------------------------------------------------------------- */
  function clearFieldErrors(form, only) {
    /* Remove the field errors of ``form`` (of the fields whose name matches
       the RegExp ``only``, when given). */
    const matches = (name) => !only || only.test(name || '');
    form.querySelectorAll('.field-error[data-for]').forEach((p) => { if (matches(p.dataset.for)) p.remove(); });
    form.querySelectorAll('[aria-invalid]').forEach((el) => {
      if (!matches(el.name)) return;
      el.removeAttribute('aria-invalid');
      el.classList.remove('invalid');
    });
  }

  function fieldErrors(form, errors, quiet) {
    /* Put DIGITS' {field: [messages]} next to the fields; the messages of
       fields the form does not show go to the top of the page. Focuses the
       first field in error, unless ``quiet``. Errors of other fields stay. */
    const names = Object.keys(errors).map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    clearFieldErrors(form, new RegExp('^(' + names.join('|') + ')$'));
    let first = null;
    for (const [name, messages] of Object.entries(errors)) {
      const text = [].concat(messages).join(' ');
      const input = form.querySelector('[name="' + CSS.escape(name) + '"]:not([type=hidden])');
      if (!input) {
        alert(name + ': ' + text);
        continue;
      }
      const p = document.createElement('p');
      p.className = 'field-error';
      p.dataset.for = name;
      p.id = 'error-' + name.replace(/[^A-Za-z0-9_-]/g, '_');
      p.textContent = text;
      const anchor = input.closest('.field') || input.parentElement;
      anchor.append(p);
      input.classList.add('invalid');
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', p.id);
      first = first || input;
    }
    if (first && !quiet) {
      const panel = first.closest('[role=tabpanel][hidden]');
      if (panel) selectTab(document.getElementById(panel.getAttribute('aria-labelledby')));
      first.focus();
    }
  }

  async function submitJobForm(form, url) {
    /* Post a job form to its .json route; field errors go beside their
       fields. Resolves to the JSON answer, or null. */
    clearAlerts();
    clearFieldErrors(form);
    if (!(await ensureUser())) return null;
    const button = form.querySelector('[type=submit]');
    if (button) button.disabled = true;
    try {
      return await api(url, {method: 'POST', body: new FormData(form)});
    } catch (e) {
      if (e.fields) fieldErrors(form, e.fields);
      else alert(errorText(e));
      return null;
    } finally {
      if (button) button.disabled = false;
    }
  }

  /* --- live updates ------------------------------------------------------- */
  function live(url, handlers) {
    /* Follow a Server-Sent Events stream: handlers[event](data) for each
       event, handlers.open() on each (re)connection. */
    const source = new EventSource(url);
    for (const [name, handler] of Object.entries(handlers)) {
      if (name === 'open') source.addEventListener('open', handler);
      else source.addEventListener(name, (event) => handler(JSON.parse(event.data)));
    }
    window.addEventListener('pagehide', () => source.close());
    return source;
  }

  function updateRegion(old, fresh) {
    /* Make the region ``old`` what ``fresh`` (parsed from the server's page)
       is, replacing only its children that changed: a button that stays the
       same stays the same element, so that it keeps the focus, and a click
       whose press and release fall on both sides of a refresh still lands. */
    const same = old.childNodes.length === fresh.childNodes.length &&
      old.cloneNode(false).isEqualNode(fresh.cloneNode(false));
    if (!same) {
      old.replaceWith(document.importNode(fresh, true));
      return;
    }
    Array.from(fresh.childNodes).forEach((child, i) => {
      const mine = old.childNodes[i];
      if (!mine.isEqualNode(child)) mine.replaceWith(document.importNode(child, true));
    });
  }

  let refreshing = null;
  let again = false;
  function refreshRegions() {
    /* Re-read this page's HTML and swap in its [data-region] parts, so that
       what the server renders is rendered in one place. One refresh at a
       time; a call during one makes one more after it (it may hold news the
       running one missed). */
    if (refreshing) {
      again = true;
      return refreshing;
    }
    refreshing = api(location.pathname + location.search, {as: 'html'}).then((html) => {
      const doc = new DOMParser().parseFromString(html, 'text/html');
      doc.querySelectorAll('[data-region]').forEach((fresh) => {
        const old = document.getElementById(fresh.id);
        if (old) updateRegion(old, fresh);
      });
      document.dispatchEvent(new CustomEvent('regions-refreshed'));
    }).catch((e) => alert(errorText(e))).finally(() => {
      refreshing = null;
      if (again) {
        again = false;
        refreshRegions();
      }
    });
    return refreshing;
  }

  function setProgress(element, percentage) {
    if (!element) return;
    const pct = Math.max(0, Math.min(100, Math.round(percentage)));
    element.querySelector('.fill').style.width = pct + '%';
    element.querySelector('.pct').textContent = pct + '%';
    element.classList.toggle('done', pct >= 100);
    element.setAttribute('aria-valuenow', String(pct));
  }

  function setStatus(element, status) {
    if (!element) return;
    element.className = 'badge status-' + status;
    element.textContent = status;
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined || !isFinite(seconds)) return '';
    const s = Math.round(seconds);
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
    return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
  }

  /* --- tabs (WAI-ARIA tabs pattern) --------------------------------------- */
  function selectTab(tab) {
    const list = tab.closest('[role=tablist]');
    list.querySelectorAll('[role=tab]').forEach((t) => {
      const selected = t === tab;
      t.setAttribute('aria-selected', String(selected));
      t.tabIndex = selected ? 0 : -1;
      document.getElementById(t.getAttribute('aria-controls')).hidden = !selected;
    });
    list.dispatchEvent(new CustomEvent('tab-selected', {detail: tab}));
  }

  function tabs(list) {
    const all = () => Array.from(list.querySelectorAll('[role=tab]'));
    list.addEventListener('click', (event) => {
      const tab = event.target.closest('[role=tab]');
      if (tab) selectTab(tab);
    });
    list.addEventListener('keydown', (event) => {
      const items = all();
      const i = items.indexOf(document.activeElement);
      if (i < 0) return;
      const next = {ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: items.length - 1}[event.key];
      if (next === undefined) return;
      event.preventDefault();
      const tab = items[(next + items.length) % items.length];
      tab.focus();
      selectTab(tab);
    });
  }

  function jobActions(jobUrl) {
    /* The buttons [data-action=abort|resume|delete] of a job page (wherever
       they are, also after a region refresh). */
    document.addEventListener('click', async (event) => {
      const button = event.target.closest('[data-action]');
      if (!button) return;
      const action = button.dataset.action;
      if (action === 'delete') {
        if (!confirm('Delete this job and all its files?')) return;
        if (await act(jobUrl, {method: 'DELETE', as: 'text'}) !== null) location.href = '/';
        return;
      }
      button.disabled = true;
      const done = await act(jobUrl + '/' + action, {method: 'POST'});
      button.disabled = false;
      if (done) {
        alert(action === 'abort' ? 'Job aborted.' : 'Job resumed from its newest snapshot.', 'info');
        refreshRegions();
      }
    });
  }

  function pageData(id) {
    const script = document.getElementById(id || 'page-data');
    return script ? JSON.parse(script.textContent) : null;
  }

  document.addEventListener('DOMContentLoaded', () => {
    showUser();
    document.querySelectorAll('[role=tablist]').forEach(tabs);
  });

  return {ApiError, api, act, alert, clearAlerts, errorText, ensureUser, user, fieldErrors,
          clearFieldErrors, submitJobForm, live, refreshRegions, setProgress, setStatus,
          duration, selectTab, jobActions, pageData};
})();
