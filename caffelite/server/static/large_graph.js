'use strict';
/* DIGITS' large graph of a model: its curves alone, page wide, kept live. */
(() => {
  const page = CL.pageData();
  const jobUrl = '/models/' + page.id;
  const curves = modelCurves(page, [560, 240]);
  curves.load(page);
  let opened = 0;
  CL.live(jobUrl + '/events', {
    open() {
      /* points logged before the stream started are in the job's JSON */
      if (opened++ || ['Running', 'Waiting', 'Initialized'].includes(page.status)) {
        CL.api(jobUrl + '.json').then(curves.load).catch((e) => CL.alert(CL.errorText(e)));
      }
    },
    graph: curves.append,
  });
})();
