'use strict';
/* A model job's training curves, as on DIGITS' model page and its large
   graph: loss and accuracy on one chart, the learning rate on another, read
   from the job's JSON (train_outputs / val_outputs) and extended live by the
   job's 'graph' events. ``heights``: [curves, learning rate] in CSS pixels. */
function modelCurves(page, heights) {
  const COLORS = {'loss (train)': '#1f77b4', 'loss (val)': '#2ca02c', 'accuracy (val)': '#ff7f0e',
                  'accuracy (train)': '#d62728', 'learning rate': '#9467bd'};
  /* loss before accuracy, train before val */
  const order = (s) => (s.axis ? 2 : 0) + (s.name.endsWith('(val)') ? 1 : 0);
  const lossChart = new LineChart(document.getElementById('loss-chart'), {
    title: 'Loss and accuracy', yLabels: ['Loss', 'Accuracy (%)'], yFixed: [null, [0, 100]],
    xMax: page.train_epochs, height: heights[0],
    empty: 'The curves appear with the first iterations', order});
  const lrChart = new LineChart(document.getElementById('lr-chart'), {
    title: 'Learning rate', yLabels: ['Learning rate', ''], xMax: page.train_epochs,
    height: heights[1], empty: 'No learning rate logged yet'});

  /* The type of the layer that makes each output (DIGITS' kind of an output). */
  let types = page.output_types || {};

  function spec(phase, name) {
    /* The chart, series name, axis and scale of an output of the log:
       an Accuracy layer's output on the right axis in percent, as DIGITS
       draws it; every other output (losses, DetectNet's mAP) on the left. */
    if (name === 'learning_rate') return {chart: lrChart, name: 'learning rate', axis: 0, color: COLORS['learning rate']};
    const accuracy = /accuracy/i.test(types[name] || name);
    const label = name + ' (' + phase + ')';
    return {chart: lossChart, name: label, axis: accuracy ? 1 : 0, scale: accuracy ? 100 : 1, color: COLORS[label]};
  }

  return {
    load(job) {
      /* All the curves of a job's JSON. */
      types = job.output_types || types;
      const lists = new Map([[lossChart, []], [lrChart, []]]);
      for (const phase of ['train', 'val']) {
        for (const [name, points] of Object.entries(job[phase + '_outputs'] || {})) {
          const s = spec(phase, name);
          lists.get(s.chart).push(Object.assign({points}, s));
        }
      }
      for (const [chart, list] of lists) chart.setSeries(list);
    },
    append(data) {
      /* One point of a 'graph' event. */
      const s = spec(data.phase, data.name);
      s.chart.append(s.name, data.epoch, data.value, s);
    },
  };
}
