'use strict';
/* The model page: the loss/accuracy and learning-rate curves (model_curves.js),
   live from the job's event stream; status, progress and snapshots kept current; the job
   actions; the tests of the trained model, whose result pages are shown here. */
(() => {
  const page = CL.pageData();
  const jobUrl = '/models/' + page.id;
  const curves = modelCurves(page, [340, 170]);

  const reload = () => CL.api(jobUrl + '.json').then(curves.load).catch((e) => CL.alert(CL.errorText(e)));
  curves.load(page);

  /* --- live updates -------------------------------------------------------- */
  function setSnapshots(epochs) {
    const select = document.getElementById('snapshot_epoch');
    const newest = select.options.length && select.selectedIndex === 0;
    const chosen = select.value;
    select.textContent = '';
    for (const epoch of epochs.slice().reverse()) {
      select.append(new Option('Epoch #' + epoch, String(epoch)));
    }
    if (!epochs.length) select.append(new Option('No snapshot yet', ''));
    select.disabled = !epochs.length;
    if (!newest && epochs.map(String).includes(chosen)) select.value = chosen;
  }

  let opened = 0;
  CL.live(jobUrl + '/events', {
    open() {
      /* Points logged between this page's rendering and the stream's start
         (or during a reconnection) are read from the job's JSON. */
      if (opened++ || ['Running', 'Waiting', 'Initialized'].includes(page.status)) reload();
    },
    graph: curves.append,
    progress(data) {
      CL.setProgress(document.getElementById('job-progress'), data.percentage);
      const eta = document.getElementById('job-eta');
      if (eta) eta.textContent = data.eta ? 'ETA ' + CL.duration(data.eta) : '';
    },
    status(data) {
      if (data.status === page.status) return;
      page.status = data.status;
      CL.setStatus(document.getElementById('job-status-badge'), data.status);
      CL.refreshRegions();
    },
    snapshots(data) {
      setSnapshots(data.snapshots);
      if (data.snapshots.length) CL.refreshRegions();
    },
  });

  CL.jobActions(jobUrl);

  /* --- tests of the trained model -------------------------------------------- */
  const form = document.getElementById('test-model-form');
  const results = document.getElementById('results');
  const path = document.getElementById('image_path');
  const file = document.getElementById('image_file');
  path.addEventListener('input', () => { file.value = ''; });
  file.addEventListener('change', () => { path.value = ''; });

  function showResult(html, title) {
    const doc = new DOMParser().parseFromString(html, 'text/html');
    const result = doc.getElementById('result');
    const card = document.createElement('article');
    card.className = 'panel';
    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'btn';
    close.style.float = 'right';
    close.textContent = 'Close';
    close.setAttribute('aria-label', 'Close ' + title);
    close.addEventListener('click', () => card.remove());
    card.append(close, document.importNode(result, true));
    results.prepend(card);
    const heading = card.querySelector('h2');
    heading.tabIndex = -1;
    heading.focus();
  }

  form.addEventListener('submit', async (event) => {
    const button = event.submitter;
    if (!button || button.hasAttribute('data-native')) return;
    event.preventDefault();
    CL.clearAlerts();
    const url = button.getAttribute('formaction');
    const body = new FormData(form);
    if (button.dataset.test === 'to_pretrained') {
      const job = await CL.act(url, {method: 'POST', body});
      if (job) location.href = '/pretrained_models/' + job.id;
      return;
    }
    const label = button.textContent;
    button.disabled = true;
    button.textContent = 'Working…';
    try {
      showResult(await CL.api(url, {method: 'POST', body, as: 'html'}), label);
    } catch (e) {
      CL.alert(CL.errorText(e));
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
  });
})();
