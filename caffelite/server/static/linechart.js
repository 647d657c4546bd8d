'use strict';
/* A line chart on a canvas, written for the training curves: several series
   against one x axis (epochs), each on the left or the right y axis, a
   legend that shows and hides series, and the values at an x under the
   pointer or the arrow keys (the canvas is focusable).

   Drawing costs O(points): where a series has more than one point per pixel
   column it is reduced to each column's first, lowest, highest and last
   values, which draws the same picture as every point, so 10,000-point
   series redraw in a few milliseconds. Appends redraw once per animation
   frame. */
class LineChart {
  /* options: xLabel, yLabels [left, right], xMax (the x axis reaches at
     least this), yFixed [left, right] ([low, high] or null: from the data),
     height (CSS pixels), empty (text shown while there is no point),
     order(series) (a number: series and legend sorted by it). */
  constructor(container, options) {
    this.options = Object.assign({xLabel: 'Epoch', yLabels: ['', ''], xMax: 0, yFixed: [null, null],
                                  height: 320, empty: 'No data yet', format: LineChart.format,
                                  order: () => 0}, options);
    this.series = [];
    this.cursor = null;
    this.pending = false;
    this.container = container;
    container.lineChart = this;
    container.classList.add('chart');
    this.canvas = document.createElement('canvas');
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute('role', 'img');
    this.canvas.style.height = this.options.height + 'px';
    this.tip = document.createElement('div');
    this.tip.className = 'chart-tip';
    this.tip.hidden = true;
    this.tip.setAttribute('role', 'status');
    this.emptyNote = document.createElement('div');
    this.emptyNote.className = 'chart-empty';
    this.emptyNote.textContent = this.options.empty;
    this.legend = document.createElement('div');
    this.legend.className = 'legend';
    container.append(this.canvas, this.tip, this.emptyNote, this.legend);
    this.canvas.addEventListener('mousemove', (e) => this.pointAt(e.offsetX));
    this.canvas.addEventListener('mouseleave', () => this.setCursor(null));
    this.canvas.addEventListener('keydown', (e) => this.key(e));
    this.canvas.addEventListener('blur', () => this.setCursor(null));
    new ResizeObserver(() => this.redraw()).observe(container);
  }

  static format(value) {
    if (value === 0) return '0';
    const a = Math.abs(value);
    if (a >= 1e4 || a < 1e-3) return value.toExponential(2);
    return String(Number(value.toPrecision(4)));
  }

  /* --- data ---------------------------------------------------------------- */
  setSeries(list) {
    /* list: [{name, axis (0 left, 1 right), color, points [[x, y]], scale}] */
    this.series = list.map((s, i) => this.makeSeries(s, i));
    this.sortSeries();
    this.redraw();
  }

  makeSeries(spec, index) {
    const scale = spec.scale || 1;
    const xs = [];
    const ys = [];
    for (const [x, y] of spec.points || []) {
      xs.push(x);
      ys.push(y * scale);
    }
    return {name: spec.name, axis: spec.axis || 0, scale, xs, ys, visible: true,
            color: spec.color || LineChart.PALETTE[index % LineChart.PALETTE.length]};
  }

  find(name) {
    return this.series.find((s) => s.name === name);
  }

  append(name, x, y, spec) {
    /* Add a point to series ``name`` (made from ``spec`` when new); points
       at or before the last x replace the tail (a resumed run restarts there). */
    let s = this.find(name);
    if (!s) {
      s = this.makeSeries(Object.assign({name}, spec), this.series.length);
      this.series.push(s);
      this.sortSeries();
    }
    while (s.xs.length && s.xs[s.xs.length - 1] > x) {
      s.xs.pop();
      s.ys.pop();
    }
    s.xs.push(x);
    s.ys.push(y * s.scale);
    this.redraw();
  }

  points() {
    return this.series.reduce((n, s) => n + s.xs.length, 0);
  }

  sortSeries() {
    const order = this.options.order;
    this.series.sort((a, b) => order(a) - order(b));
    this.buildLegend();
  }

  buildLegend() {
    this.legend.textContent = '';
    for (const s of this.series) {
      const button = document.createElement('button');
      button.type = 'button';
      button.setAttribute('aria-pressed', String(s.visible));
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = s.color;
      button.append(swatch, s.name);
      button.addEventListener('click', () => {
        s.visible = !s.visible;
        button.setAttribute('aria-pressed', String(s.visible));
        this.redraw();
      });
      this.legend.append(button);
    }
  }

  /* --- geometry ------------------------------------------------------------ */
  static niceStep(span, count) {
    const raw = span / Math.max(1, count);
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const unit = raw / power;
    return power * (unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 5 ? 5 : 10);
  }

  static ticks(low, high, count) {
    if (!(high > low)) high = low + 1;
    const step = LineChart.niceStep(high - low, count);
    const start = Math.floor(low / step) * step;
    const end = Math.ceil(high / step) * step;
    const out = [];
    for (let v = start; v <= end + step / 2; v += step) out.push(Number(v.toPrecision(12)));
    return out;
  }

  ranges() {
    /* x range, and for each axis its ticks (or null when unused). */
    let xMax = this.options.xMax || 0;
    const lows = [Infinity, Infinity];
    const highs = [-Infinity, -Infinity];
    const used = [false, false];
    for (const s of this.series) {
      if (!s.visible || !s.xs.length) continue;
      used[s.axis] = true;
      xMax = Math.max(xMax, s.xs[s.xs.length - 1]);
      for (const y of s.ys) {
        if (y < lows[s.axis]) lows[s.axis] = y;
        if (y > highs[s.axis]) highs[s.axis] = y;
      }
    }
    const axes = [0, 1].map((a) => {
      if (!used[a]) return null;
      const fixed = this.options.yFixed[a];
      if (fixed) return LineChart.ticks(fixed[0], fixed[1], 5);
      return LineChart.ticks(Math.min(0, lows[a]), highs[a], 5);
    });
    const xTicks = LineChart.ticks(0, xMax || 1, 10);
    return {xTicks, axes};
  }

  /* --- drawing ------------------------------------------------------------- */
  redraw() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  draw() {
    const ratio = window.devicePixelRatio || 1;
    const width = this.canvas.clientWidth;
    const height = this.options.height;
    if (!width) return;
    if (this.canvas.width !== Math.round(width * ratio) || this.canvas.height !== Math.round(height * ratio)) {
      this.canvas.width = Math.round(width * ratio);
      this.canvas.height = Math.round(height * ratio);
    }
    const ctx = this.canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const {xTicks, axes} = this.ranges();
    const box = {left: 64, right: axes[1] ? width - 64 : width - 16, top: 12, bottom: height - 42};
    this.geometry = {box, x0: xTicks[0], x1: xTicks[xTicks.length - 1],
                     y: axes.map((t) => t && [t[0], t[t.length - 1]])};
    this.emptyNote.hidden = this.points() > 0;
    this.drawAxes(ctx, box, xTicks, axes);
    ctx.save();
    ctx.beginPath();
    ctx.rect(box.left, box.top, box.right - box.left, box.bottom - box.top);
    ctx.clip();
    for (const s of this.series) {
      if (s.visible && s.xs.length) this.drawSeries(ctx, s);
    }
    ctx.restore();
    this.drawCursor(ctx);
    this.describe();
  }

  px(x) {
    const {box, x0, x1} = this.geometry;
    return box.left + (x - x0) / (x1 - x0) * (box.right - box.left);
  }

  py(y, axis) {
    const {box} = this.geometry;
    const [low, high] = this.geometry.y[axis];
    return box.bottom - (y - low) / (high - low) * (box.bottom - box.top);
  }

  drawAxes(ctx, box, xTicks, axes) {
    ctx.font = '11px system-ui, sans-serif';
    ctx.strokeStyle = '#e3e7ec';
    ctx.fillStyle = '#5f6b7a';
    ctx.lineWidth = 1;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (const t of xTicks) {
      const x = Math.round(this.px(t)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(x, box.top);
      ctx.lineTo(x, box.bottom);
      ctx.stroke();
      ctx.fillText(this.options.format(t), x, box.bottom + 5);
    }
    ctx.fillText(this.options.xLabel, (box.left + box.right) / 2, box.bottom + 22);
    axes.forEach((ticks, a) => {
      if (!ticks) return;
      const x = a ? box.right : box.left;
      ctx.textAlign = a ? 'left' : 'right';
      ctx.textBaseline = 'middle';
      for (const t of ticks) {
        const y = Math.round(this.py(t, a)) + 0.5;
        if (a === 0 || !axes[0]) {
          ctx.beginPath();
          ctx.moveTo(box.left, y);
          ctx.lineTo(box.right, y);
          ctx.stroke();
        }
        ctx.fillText(this.options.format(t), x + (a ? 6 : -6), y);
      }
      ctx.save();
      ctx.translate(a ? box.right + 52 : 14, (box.top + box.bottom) / 2);
      ctx.rotate(a ? Math.PI / 2 : -Math.PI / 2);
      ctx.textAlign = 'center';
      ctx.fillText(this.options.yLabels[a] || '', 0, 0);
      ctx.restore();
    });
    ctx.strokeStyle = '#9aa5b1';
    ctx.strokeRect(box.left + 0.5, box.top + 0.5, box.right - box.left, box.bottom - box.top);
  }

  drawSeries(ctx, s) {
    /* One path, a column of pixels at a time (first, lowest, highest, last). */
    const n = s.xs.length;
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 1.6;
    ctx.lineJoin = 'round';
    ctx.beginPath();
    let column = null;
    let first = 0;
    let low = 0;
    let high = 0;
    let last = 0;
    let started = false;
    const flush = () => {
      const ys = first === last && low === high ? [first] : [first, low, high, last];
      for (const y of ys) {
        if (started) ctx.lineTo(column, y);
        else ctx.moveTo(column, y);
        started = true;
      }
    };
    for (let i = 0; i < n; i++) {
      const x = Math.round(this.px(s.xs[i]));
      const y = this.py(s.ys[i], s.axis);
      if (x !== column) {
        if (column !== null) flush();
        column = x;
        first = low = high = last = y;
      } else {
        if (y < low) low = y;
        if (y > high) high = y;
        last = y;
      }
    }
    flush();
    ctx.stroke();
    if (n <= 60) {
      ctx.fillStyle = s.color;
      for (let i = 0; i < n; i++) {
        ctx.beginPath();
        ctx.arc(this.px(s.xs[i]), this.py(s.ys[i], s.axis), 2.5, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
  }

  /* --- reading values ------------------------------------------------------ */
  static nearest(xs, x) {
    let lo = 0;
    let hi = xs.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (xs[mid] < x) lo = mid;
      else hi = mid;
    }
    return Math.abs(xs[lo] - x) <= Math.abs(xs[hi] - x) ? lo : hi;
  }

  pointAt(offsetX) {
    if (!this.geometry || !this.points()) return;
    const {box, x0, x1} = this.geometry;
    const x = x0 + (offsetX - box.left) / (box.right - box.left) * (x1 - x0);
    this.setCursor(Math.max(x0, Math.min(x1, x)));
  }

  setCursor(x) {
    this.cursor = x;
    this.redraw();
  }

  longest() {
    return this.series.filter((s) => s.visible && s.xs.length).sort((a, b) => b.xs.length - a.xs.length)[0];
  }

  key(event) {
    const s = this.longest();
    if (!s) return;
    const index = this.cursor === null ? s.xs.length - 1 : LineChart.nearest(s.xs, this.cursor);
    const page = Math.max(1, Math.round(s.xs.length / 10));
    const next = {ArrowRight: index + 1, ArrowLeft: index - 1, PageUp: index + page, PageDown: index - page,
                  Home: 0, End: s.xs.length - 1}[event.key];
    if (event.key === 'Escape') {
      this.setCursor(null);
      return;
    }
    if (next === undefined) return;
    event.preventDefault();
    this.setCursor(s.xs[Math.max(0, Math.min(s.xs.length - 1, next))]);
  }

  valuesAt(x) {
    /* [{series, x, y}] nearest to ``x`` in each visible series. */
    return this.series.filter((s) => s.visible && s.xs.length).map((s) => {
      const i = LineChart.nearest(s.xs, x);
      return {series: s, x: s.xs[i], y: s.ys[i]};
    });
  }

  drawCursor(ctx) {
    if (this.cursor === null || !this.points()) {
      this.tip.hidden = true;
      return;
    }
    const {box} = this.geometry;
    const x = this.px(this.cursor);
    ctx.strokeStyle = 'rgba(31, 41, 51, .5)';
    ctx.setLineDash([4, 3]);
    ctx.beginPath();
    ctx.moveTo(x, box.top);
    ctx.lineTo(x, box.bottom);
    ctx.stroke();
    ctx.setLineDash([]);
    const values = this.valuesAt(this.cursor);
    const lines = [this.options.xLabel + ' ' + this.options.format(this.cursor)];
    for (const v of values) {
      ctx.fillStyle = v.series.color;
      ctx.beginPath();
      ctx.arc(this.px(v.x), this.py(v.y, v.series.axis), 4, 0, 2 * Math.PI);
      ctx.fill();
      lines.push(v.series.name + ': ' + this.options.format(v.y));
    }
    this.tip.textContent = lines.join('\n');
    this.tip.style.whiteSpace = 'pre';
    this.tip.hidden = false;
    const left = x + 12 + this.tip.offsetWidth > box.right ? x - 12 - this.tip.offsetWidth : x + 12;
    this.tip.style.left = left + 'px';
    this.tip.style.top = box.top + 6 + 'px';
  }

  describe() {
    /* A text alternative: the newest value of each series. */
    const parts = this.series.filter((s) => s.xs.length).map(
      (s) => s.name + ' ' + this.options.format(s.ys[s.ys.length - 1]) + ' at ' +
             this.options.xLabel.toLowerCase() + ' ' + this.options.format(s.xs[s.xs.length - 1]));
    this.canvas.setAttribute('aria-label', (this.options.title || 'Chart') + ': ' +
                             (parts.join('; ') || this.options.empty) +
                             '. Arrow keys read the values.');
  }
}

LineChart.PALETTE = ['#1f77b4', '#2ca02c', '#ff7f0e', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
