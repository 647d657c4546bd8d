/* DIGITS' image-segmentation view: paints each .seg-view's canvas from its
   class PNG (red: a pixel's class, green: its segment value, 128 plus its
   signed distance to the class boundary) through the page's display
   options, as DIGITS' view filters its overlay:
   - a value of 0 is clear, below the threshold (128) the mask's opacity,
     from there to the threshold plus the line width opaque (the outline),
     beyond it the fill opacity;
   - the colour is the class's, but a 2-class map is white from the
     threshold on and black below, the threshold moved by the option;
   - gamma and the false-colour colormap filter the input image.
   The options are one set for the page, kept in the browser's local
   storage for the next pages, as in DIGITS: a change on any control applies
   to every view; an option the request named starts at the request's value.
   The mouse over a view highlights its class's legend entry. */
(function () {
  'use strict';

  const SVG = 'http://www.w3.org/2000/svg';
  // the input's false colours: gray levels (BT.709 luma) through a blue-red ramp
  const LUMA = '0.2126 0.7152 0.0722 0 0 0.2126 0.7152 0.0722 0 0 0.2126 0.7152 0.0722 0 0 0 0 0 1 0';
  const RAMP = {R: '0,0,0,0,0.5,1,1,1,0.5', G: '0,0,0.5,1,1,1,0.5,0,0', B: '0.5,1,1,1,0.5,0,0,0,0'};
  const STORE = 'caffelite-segmentation-options';
  const state = {};

  function rgb(hex) {
    const n = parseInt(hex.slice(1), 16);
    return [n >> 16, (n >> 8) & 255, n & 255];
  }

  function controls(name) {
    return document.querySelectorAll('.seg-options [data-option="' + name + '"]');
  }

  function valueOf(input, value) {
    return input.type === 'checkbox' ? (value === undefined ? input.checked : value === 'true')
      : Number(value === undefined ? input.value : value);
  }

  function show(name, value) {
    const text = name === 'opacity' || name === 'mask' ? Math.round(value * 100) + '%'
      : name === 'gamma' ? value.toFixed(2) : String(value);
    // unchanged text is not rewritten: a rewrite is a mutation, which sets the views up again
    document.querySelectorAll('.seg-options [data-shows="' + name + '"]').forEach((out) => {
      if (out.textContent !== text) out.textContent = text;
    });
  }

  function saved() {
    try {
      return JSON.parse(window.localStorage.getItem(STORE)) || {};
    } catch (error) {
      return {};
    }
  }

  function save() {
    try {
      window.localStorage.setItem(STORE, JSON.stringify(state));
    } catch (error) {
      // storage refused (private mode, quota): the options last for this page only
    }
  }

  // set option ``name`` on the page: every control showing it, then every view
  function set(name, value) {
    state[name] = value;
    controls(name).forEach((input) => {
      if (input.type === 'checkbox') input.checked = value;
      else input.value = value;
    });
    show(name, value);
  }

  function filters() {
    let svg = document.getElementById('seg-filters');
    if (!svg) {
      svg = document.createElementNS(SVG, 'svg');
      svg.id = 'seg-filters';
      svg.setAttribute('width', '0');
      svg.setAttribute('height', '0');
      svg.style.position = 'absolute';
      svg.innerHTML = '<defs><filter id="seg-gamma"><feComponentTransfer>' +
        ['R', 'G', 'B'].map((c) => '<feFunc' + c + ' type="gamma" amplitude="1" offset="0" exponent="1"/>').join('') +
        '</feComponentTransfer></filter><filter id="seg-colormap"><feColorMatrix type="matrix" values="' + LUMA + '"/>' +
        '<feComponentTransfer>' +
        ['R', 'G', 'B'].map((c) => '<feFunc' + c + ' type="table" tableValues="' + RAMP[c] + '"/>').join('') +
        '</feComponentTransfer></filter></defs>';
      document.body.appendChild(svg);
    }
    svg.querySelectorAll('#seg-gamma [type=gamma]').forEach((f) => f.setAttribute('exponent', state.gamma));
  }

  // DIGITS' tables of segment value -> alpha (0-255) and, for 2 classes, white or black
  function tables(binary) {
    const threshold = binary ? state.threshold + 128 : 128;
    const alpha = new Uint8ClampedArray(256);
    const white = new Uint8Array(256);
    for (let v = 0; v < 256; v++) {
      white[v] = v < threshold ? 0 : 255;
      alpha[v] = Math.round(255 * (v === 0 ? 0 : v < threshold ? state.mask
        : v < threshold + state.line_width ? 1 : state.opacity));
    }
    return {alpha, white};
  }

  function paint(view) {
    const source = view._classes;
    if (!source) return;
    const input = view.querySelector('img.seg-input');
    input.style.filter = 'url(#seg-gamma)' + (state.colormap ? ' url(#seg-colormap)' : '');
    const canvas = view.querySelector('canvas.seg-overlay');
    const ctx = canvas.getContext('2d');
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(source, 0, 0);
    const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height);
    const data = pixels.data;
    const colours = view.dataset.colours.split(',').map(rgb);
    const binary = view.dataset.binary === 'true';
    const {alpha, white} = tables(binary);
    for (let i = 0; i < data.length; i += 4) {
      const value = data[i + 1];
      const colour = binary ? [white[value], white[value], white[value]] : colours[data[i]] || [0, 0, 0];
      data[i] = colour[0];
      data[i + 1] = colour[1];
      data[i + 2] = colour[2];
      data[i + 3] = alpha[value];
    }
    ctx.putImageData(pixels, 0, 0);
  }

  function paintAll() {
    filters();
    document.querySelectorAll('.seg-view').forEach(paint);
  }

  // an option starts at the request's value, else the saved one, else
  // DIGITS' default (the control's); controls that arrive later show the page's
  function readOptions() {
    const stored = saved();
    document.querySelectorAll('.seg-options [data-option]').forEach((input) => {
      const name = input.dataset.option;
      if (name in state) return;
      const keep = name in stored && !('requested' in input.dataset);
      state[name] = keep ? stored[name] : valueOf(input);
    });
    Object.keys(state).forEach((name) => set(name, state[name]));
  }

  // DIGITS' legend hint: the class under the mouse black, the others light,
  // all gray over the background or outside the view
  function hint(view, cls) {
    view.querySelectorAll('.seg-class').forEach((entry) => {
      entry.style.color = cls === undefined || cls === 0 ? '#777'
        : Number(entry.dataset.class) === cls ? '#000' : '#ddd';
    });
  }

  function classAt(view, event) {
    const box = event.currentTarget.getBoundingClientRect();
    const canvas = view.querySelector('canvas.seg-overlay');
    const x = Math.floor((event.clientX - box.left) / box.width * canvas.width);
    const y = Math.floor((event.clientY - box.top) / box.height * canvas.height);
    if (!view._classIndex || x < 0 || y < 0 || x >= canvas.width || y >= canvas.height) return undefined;
    return view._classIndex[y * canvas.width + x];
  }

  // the class of each pixel, read once from the class PNG's red
  function indexClasses(view, image) {
    const canvas = document.createElement('canvas');
    canvas.width = image.width;
    canvas.height = image.height;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(image, 0, 0);
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    view._classIndex = new Uint8Array(canvas.width * canvas.height);
    for (let i = 0; i < view._classIndex.length; i++) view._classIndex[i] = data[4 * i];
  }

  function setUp(view) {
    if (view._classes !== undefined) return;
    view._classes = null;
    const image = new Image();
    image.onload = () => { view._classes = image; indexClasses(view, image); filters(); paint(view); };
    image.src = view.dataset.classes;
    const stack = view.querySelector('.seg-stack');
    stack.addEventListener('mousemove', (event) => hint(view, classAt(view, event)));
    stack.addEventListener('mouseleave', () => hint(view, undefined));
  }

  function setUpAll() {
    readOptions();
    document.querySelectorAll('.seg-view').forEach(setUp);
  }

  document.addEventListener('input', (event) => {
    const input = event.target;
    if (!input.closest || !input.closest('.seg-options') || !input.dataset.option) return;
    set(input.dataset.option, valueOf(input));
    save();
    paintAll();
  });
  document.addEventListener('click', (event) => {
    if (!event.target.closest || !event.target.closest('.seg-reset')) return;
    event.target.closest('.seg-options').querySelectorAll('[data-option]').forEach((input) => {
      set(input.dataset.option, valueOf(input, input.dataset.default));
    });
    save();
    paintAll();
  });
  // views arrive later on the model page (test results are added to it)
  new MutationObserver(setUpAll).observe(document.documentElement, {childList: true, subtree: true});
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', setUpAll);
  else setUpAll();
})();
