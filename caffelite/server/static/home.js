'use strict';
/* Home: the job tables follow every job live (one event stream); a job the
   page does not show yet makes it re-read its tables from the server. */
(() => {
  const row = (id) => document.querySelector('tr[data-job="' + CSS.escape(id) + '"]');
  const known = (id) => row(id) !== null;

  CL.live('/events', {
    status(data) {
      if (!known(data.job_id)) {
        CL.refreshRegions();
        return;
      }
      CL.setStatus(row(data.job_id).querySelector('.badge'), data.status);
      if (data.status === 'Done') CL.setProgress(row(data.job_id).querySelector('.progress'), 100);
    },
    progress(data) {
      const tr = row(data.job_id);
      if (!tr) return;
      CL.setProgress(tr.querySelector('.progress'), data.percentage);
      const eta = tr.querySelector('.eta');
      if (eta) eta.textContent = CL.duration(data.eta);
    },
  });

  const form = document.getElementById('upload-pretrained-form');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const job = await CL.submitJobForm(form, '/pretrained_models/new.json');
    if (job) location.href = '/pretrained_models/' + job.id;
  });
})();
