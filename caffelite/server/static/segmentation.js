/* DIGITS' image-segmentation view: paints each .seg-view's canvas from its
   class PNG (red: a pixel's class, green: its distance to the class
   boundary) with the view's options: classes other than 0 in their colour
   at the opacity, their outline (distance below the line width) opaque,
   the background black at the mask's opacity. */
(function () {
  'use strict';

  function rgb(hex) {
    const n = parseInt(hex.slice(1), 16);
    return [n >> 16, (n >> 8) & 255, n & 255];
  }

  function option(view, name) {
    return Number(view.querySelector('[data-option="' + name + '"]').value);
  }

  function paint(view) {
    const canvas = view.querySelector('canvas.seg-overlay');
    const source = view._classes;
    if (!source) return;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(source, 0, 0);
    const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height);
    const data = pixels.data;
    const colours = view.dataset.colours.split(',').map(rgb);
    const opacity = Math.round(255 * option(view, 'opacity'));
    const mask = Math.round(255 * option(view, 'mask'));
    const line = option(view, 'line');
    for (let i = 0; i < data.length; i += 4) {
      const cls = data[i];
      const distance = data[i + 1];
      if (cls === 0) {
        data[i] = data[i + 1] = data[i + 2] = 0;
        data[i + 3] = mask;
      } else {
        const colour = colours[cls] || [0, 0, 0];
        data[i] = colour[0];
        data[i + 1] = colour[1];
        data[i + 2] = colour[2];
        data[i + 3] = distance - 0.5 < line ? 255 : opacity;
      }
    }
    ctx.putImageData(pixels, 0, 0);
  }

  function setUp(view) {
    if (view._classes !== undefined) return;
    view._classes = null;
    const image = new Image();
    image.onload = () => { view._classes = image; paint(view); };
    image.src = view.dataset.classes;
  }

  function setUpAll() {
    document.querySelectorAll('.seg-view').forEach(setUp);
  }

  document.addEventListener('input', (event) => {
    const view = event.target.closest && event.target.closest('.seg-view');
    if (view && event.target.dataset.option) paint(view);
  });
  // views arrive later on the model page (test results are added to it)
  new MutationObserver(setUpAll).observe(document.documentElement, {childList: true, subtree: true});
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', setUpAll);
  else setUpAll();
})();
