'use strict';
/* The new dataset form: a preview of every resize mode at the chosen size,
   a check of the chosen folder (classes, images, unreadable files) before
   the job is made, separate validation/test folders shown while their box
   is checked, and the form posted to the JSON route with its errors shown
   beside the fields. */
(() => {
  const form = document.getElementById('dataset-form');
  const folder = document.getElementById('folder_train');
  const summary = document.getElementById('folder-summary');
  const field = (name) => form.elements[name];

  /* --- source: folder, archive or text files ------------------------------- */
  function showSource() {
    const method = field('method').value;
    document.getElementById('source-folder').hidden = method !== 'folder';
    document.getElementById('source-archive').hidden = method !== 'archive';
    document.getElementById('source-textfile').hidden = method !== 'textfile';
    /* text lists give every split: no percentages, no per-class limits */
    document.getElementById('source-split').hidden = method === 'textfile';
  }
  form.querySelectorAll('[name=method]').forEach((r) => r.addEventListener('change', showSource));
  showSource();

  /* --- text files: uploads, or paths of files on the server --------------- */
  function showLocal() {
    const local = field('textfile_use_local_files').checked;
    form.querySelectorAll('#source-textfile .upload-only').forEach((el) => { el.hidden = local; });
    form.querySelectorAll('#source-textfile .local-only').forEach((el) => { el.hidden = !local; });
  }
  field('textfile_use_local_files').addEventListener('change', showLocal);
  showLocal();

  /* --- DB backend: HDF5 stores raw pixels and may be compressed; LMDB
     is never compressed (DIGITS' validate_backend) --------------------------- */
  function showBackend() {
    const hdf5 = field('backend').value === 'hdf5';
    const encoding = field('encoding');
    if (hdf5) encoding.value = 'none';
    encoding.disabled = hdf5;
    document.getElementById('encoding-hint').hidden = !hdf5;
    document.getElementById('compression-field').hidden = !hdf5;
    if (!hdf5) field('compression').value = 'none';
  }
  field('backend').addEventListener('change', () => { showBackend(); later(); });
  showBackend();

  /* --- separate validation / test folders and text-file splits: shown while
     their box is checked */
  form.querySelectorAll('[data-shows]').forEach((box) => {
    const show = () => { document.getElementById(box.dataset.shows).hidden = !box.checked; };
    box.addEventListener('change', show);
    show();
  });

  /* --- resize previews ----------------------------------------------------- */
  let timer = null;
  async function preview() {
    const body = new FormData();
    for (const name of ['resize_width', 'resize_height', 'resize_channels', 'encoding', 'folder_train']) {
      body.append(name, field(name).value);
    }
    try {
      const answer = await CL.api('/datasets/images/resize-example.json', {method: 'POST', body});
      for (const example of answer.examples) {
        form.querySelector('img[data-mode="' + example.resize_mode + '"]').src = example.src;
        form.querySelector('[data-size="' + example.resize_mode + '"]').textContent =
          (example.size / 1024).toFixed(1) + ' KB stored';
      }
      document.getElementById('resize-source').textContent = 'Each mode applied to ' + answer.source +
        ' at ' + field('resize_width').value + '×' + field('resize_height').value + '.';
    } catch (e) {
      document.getElementById('resize-source').textContent = 'No preview: ' + CL.errorText(e);
    }
  }
  const later = () => { clearTimeout(timer); timer = setTimeout(preview, 300); };
  for (const name of ['resize_width', 'resize_height', 'resize_channels', 'encoding']) {
    field(name).addEventListener('input', later);
  }
  preview();

  /* --- folder check -------------------------------------------------------- */
  function showSummary(answer) {
    summary.textContent = '';
    const p = document.createElement('p');
    p.textContent = answer.image_count + ' images in ' + answer.classes.length + ' classes: ' +
      answer.classes.map((c) => c.name + ' (' + c.images + ')').join(', ');
    summary.append(p);
    if (answer.unreadable.length) {
      const warn = document.createElement('div');
      warn.className = 'alert warning';
      warn.textContent = answer.unreadable.length + ' of the ' + answer.checked +
        ' images checked cannot be read and will be skipped:\n' + answer.unreadable.join('\n');
      summary.append(warn);
    }
  }

  async function checkFolder() {
    /* true when the folder can make a dataset (its summary shown), false
       with the reason beside the field. */
    const body = new FormData();
    body.append('folder_train', folder.value);
    body.append('folder_train_min_per_class', field('folder_train_min_per_class').value);
    summary.textContent = 'Checking…';
    try {
      showSummary(await CL.api('/datasets/images/classification/check-folder.json', {method: 'POST', body}));
      CL.clearFieldErrors(form, /^folder_train$/);
      return true;
    } catch (e) {
      summary.textContent = '';
      CL.fieldErrors(form, e.fields || {folder_train: [CL.errorText(e)]});
      return false;
    }
  }
  document.getElementById('check-folder').addEventListener('click', checkFolder);
  folder.addEventListener('change', () => { checkFolder(); later(); });

  /* --- submit -------------------------------------------------------------- */
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (field('method').value === 'folder' && folder.value.trim() && !(await checkFolder())) return;
    const job = await CL.submitJobForm(form, '/datasets/images/classification.json');
    if (job) location.href = '/datasets/' + job.id;
  });
})();
