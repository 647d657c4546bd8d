'use strict';
/* The dataset page: progress live while the dataset is made; once its
   status changes the page is read again (histograms, gallery and logs come
   with the finished job). */
(() => {
  const page = CL.pageData();
  const jobUrl = '/datasets/' + page.id;
  CL.live(jobUrl + '/events', {
    progress(data) {
      CL.setProgress(document.getElementById('job-progress'), data.percentage);
      document.getElementById('job-eta').textContent = data.eta ? 'ETA ' + CL.duration(data.eta) : '';
    },
    status(data) {
      if (data.status !== page.status) location.reload();
    },
  });
  CL.jobActions(jobUrl);
})();
