'use strict';
/* The New model form: the chosen dataset's summary, the network tabs (the
   selected tab is the form's ``method``), a live preview of the learning
   rate over training, Customize (a network copied into the editor),
   Visualize, the custom network checked (parse and shapes) with its error at
   its line before the job is made, and the form posted to the JSON route. */
(() => {
  const form = document.getElementById('model-form');
  const field = (name) => form.elements[name];
  const facts = CL.pageData().datasets;
  const editor = new PrototxtEditor(document.getElementById('editor'));
  const checkNote = document.getElementById('network-check');

  /* --- dataset ---------------------------------------------------------------- */
  function showDataset() {
    const box = document.getElementById('dataset-summary');
    const d = facts[field('dataset').value];
    if (!d) {
      box.textContent = 'Pick the dataset to train on.';
      return;
    }
    const [h, w, c] = d.image_dims;
    const counts = d.counts ? ', ' + ['train', 'val', 'test'].filter((s) => d.counts[s])
      .map((s) => d.counts[s] + ' ' + s).join(', ') + ' images' : '';
    box.textContent = w + '×' + h + ' ' + (c === 3 ? 'color' : 'grayscale') + ', ' + d.resize_mode +
      (d.labels ? ', ' + d.labels + ' classes' : '') + counts + (d.status !== 'Done' ? ' (' + d.status + ')' : '');
  }
  field('dataset').addEventListener('change', showDataset);
  showDataset();

  /* --- network tabs ------------------------------------------------------------ */
  document.getElementById('network-tabs').addEventListener('tab-selected', (event) => {
    field('method').value = event.detail.dataset.method;
  });

  /* --- solver: RMS decay and the learning-rate preview ------------------------- */
  const lrChart = new LineChart(document.getElementById('lr-preview'), {
    title: 'Learning rate over training', yLabels: ['Learning rate', ''], height: 160,
    xMax: 1, empty: 'Set the base learning rate'});
  function showPolicyFields() {
    form.querySelectorAll('.policy-fields').forEach((div) => {
      div.hidden = div.dataset.policy !== field('lr_policy').value;
    });
    document.getElementById('rms-decay-field').hidden = field('solver_type').value !== 'RMSPROP';
  }

  const LR_FIELDS = /^(learning_rate|lr_|train_epochs)/;
  let timer = null;
  async function previewLr() {
    const body = new FormData(form);
    const epochs = Number(field('train_epochs').value) || 30;
    try {
      const answer = await CL.api('/models/visualize-lr', {method: 'POST', body});
      lrChart.options.xMax = epochs;
      lrChart.setSeries(answer.data.columns.map((column) => ({
        name: column[0], points: column.slice(1).map((v, i) => [i * epochs / 100, v])})));
      CL.clearFieldErrors(form, LR_FIELDS);
    } catch (e) {
      if (e.fields) CL.fieldErrors(form, e.fields, true);
    }
  }
  const later = () => { clearTimeout(timer); timer = setTimeout(previewLr, 250); };
  form.addEventListener('input', (event) => {
    if (LR_FIELDS.test(event.target.name)) later();
  });
  form.addEventListener('change', (event) => {
    if (['lr_policy', 'solver_type'].includes(event.target.name)) {
      showPolicyFields();
      later();
    }
  });
  showPolicyFields();
  previewLr();

  /* --- customize, check, visualize ---------------------------------------------- */
  form.addEventListener('click', async (event) => {
    const button = event.target.closest('[data-customize]');
    if (!button) return;
    const body = new FormData();
    body.append('network', button.dataset.customize);
    if (button.dataset.snapshotFrom) body.append('snapshot_epoch', document.getElementById(button.dataset.snapshotFrom).value);
    try {
      const answer = await CL.api('/models/customize', {method: 'POST', body});
      editor.value = answer.network;
      field('custom_network_snapshot').value = answer.snapshot || '';
      if (answer.python_layer) field('python_layer_server_file').value = answer.python_layer;
      checkNote.textContent = '';
      CL.selectTab(document.getElementById('tab-custom'));
      editor.textarea.focus();
    } catch (e) {
      CL.alert(CL.errorText(e));
    }
  });

  let checks = 0;
  let editTimer = null;
  async function checkNetwork(withDataset) {
    /* true when the custom network parses (and, with a finished dataset,
       builds); else its error is shown at its line. Only the newest check
       shows its answer. */
    clearTimeout(editTimer);
    const mine = ++checks;
    const body = new FormData();
    body.append('custom_network', editor.value);
    if (withDataset) {
      for (const name of ['dataset', 'crop_size', 'use_mean']) body.append(name, field(name).value);
    }
    checkNote.className = 'small';
    checkNote.textContent = 'Checking…';
    try {
      const answer = await CL.api('/models/images/classification/check-network.json', {method: 'POST', body});
      if (mine !== checks) return true;
      editor.clearError();
      checkNote.textContent = answer.layers + ' layers' +
        (answer.parameters !== null ? ', ' + answer.parameters.toLocaleString() + ' learned parameters' : '') +
        ' (' + answer.checked + ').';
      return true;
    } catch (e) {
      if (mine !== checks) return false;
      const line = e.body && e.body.line;
      checkNote.className = 'field-error';
      checkNote.textContent = (line ? 'Line ' + line + ': ' : '') +
        (e.fields ? [].concat(e.fields.custom_network).join(' ') : CL.errorText(e));
      if (line) {
        const go = document.createElement('button');
        go.type = 'button';
        go.className = 'btn';
        go.textContent = 'Go to line ' + line;
        go.addEventListener('click', () => editor.markError(line, true));
        checkNote.append(' ', go);
      }
      editor.markError(line, withDataset);
      return false;
    }
  }
  document.getElementById('check-network').addEventListener('click', () => checkNetwork(true));
  editor.textarea.addEventListener('input', () => {
    clearTimeout(editTimer);
    editTimer = setTimeout(() => { if (editor.value.trim()) checkNetwork(false); }, 600);
  });

  const dialog = document.getElementById('network-dialog');
  document.getElementById('network-dialog-close').addEventListener('click', () => dialog.close());
  document.getElementById('visualize-network').addEventListener('click', async () => {
    const body = new FormData();
    body.append('custom_network', editor.value);
    try {
      const svg = await CL.api('/models/visualize-network', {method: 'POST', body, as: 'blob'});
      const drawing = document.getElementById('network-drawing');
      drawing.textContent = '';
      const img = document.createElement('img');
      img.alt = 'Drawing of the custom network';
      img.src = URL.createObjectURL(svg);
      drawing.append(img);
      dialog.showModal();
    } catch (e) {
      checkNetwork(false);
    }
  });

  /* --- submit -------------------------------------------------------------------- */
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (field('method').value === 'custom' && !(await checkNetwork(true))) return;
    const answer = await CL.submitJobForm(form, '/models/images/classification.json');
    if (answer) location.href = answer.jobs ? '/' : '/models/' + answer.id;
  });
})();
