"""Pictures of detections: class-coloured cells (sliding window, heatmaps)
or boxes drawn over an image, with a legend, saved as PNG."""
import numpy as np

from ..protoio import atomic_open

# Distinct colours (RGB), one per class, repeating past ten.
PALETTE = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180),
           (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 190), (0, 128, 128)]


def colour(index):
    return PALETTE[index % len(PALETTE)]


def _picture(image):
    """A PIL RGB picture of an H x W x 3 image in [0, 1] or 0..255."""
    from PIL import Image
    pixels = np.asarray(image, np.float32)
    if pixels.max() <= 1.0:
        pixels = pixels * 255
    if pixels.ndim == 2 or pixels.shape[2] == 1:
        pixels = np.repeat(pixels.reshape(pixels.shape[0], pixels.shape[1], 1), 3, axis=2)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), 'RGB')


def _legend(picture, entries):
    """The picture with a legend strip below it: [(colour, text)]."""
    from PIL import Image, ImageDraw
    row = 16
    width = max(picture.width, 240)
    out = Image.new('RGB', (width, picture.height + row * len(entries) + 4), 'white')
    out.paste(picture, (0, 0))
    draw = ImageDraw.Draw(out)
    for i, (rgb, text) in enumerate(entries):
        y = picture.height + 2 + i * row
        draw.rectangle([4, y + 2, 16, y + 13], fill=rgb, outline='black')
        draw.text((22, y + 2), text, fill='black')
    return out


def _save(picture, path):
    with atomic_open(path, 'wb') as f:
        picture.save(f, format='PNG')


def save_cells(path, image, labels, scores, names, cell_boxes, alpha=0.45):
    """Colour each cell (x1, y1, x2, y2 in ``cell_boxes``, shape (R, C, 4))
    by its class, more opaque for higher ``scores``; legend of the classes
    present with their cell counts."""
    from PIL import Image, ImageDraw
    base = _picture(image).convert('RGBA')
    layer = Image.new('RGBA', base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for (r, c), label in np.ndenumerate(labels):
        x1, y1, x2, y2 = (int(round(v)) for v in cell_boxes[r, c])
        opacity = int(255 * alpha * (0.3 + 0.7 * float(scores[r, c])))
        # outlines only where cells are big enough for them not to hide the fill
        edge = colour(int(label)) + (255,) if min(x2 - x1, y2 - y1) >= 16 else None
        draw.rectangle([x1, y1, x2 - 1, y2 - 1], fill=colour(int(label)) + (opacity,),
                       outline=edge)
    counts = np.bincount(labels.ravel(), minlength=len(names))
    entries = [(colour(k), '%s: %d cells' % (names[k], counts[k]))
               for k in range(len(names)) if counts[k]]
    _save(_legend(Image.alpha_composite(base, layer).convert('RGB'), entries), path)


def save_boxes(path, image, groups):
    """Draw boxes over the image: ``groups`` is [(name, (K, 4) corners,
    scores or None)], one colour each; the legend names each group."""
    from PIL import ImageDraw
    picture = _picture(image)
    draw = ImageDraw.Draw(picture)
    entries = []
    for k, (name, boxes, scores) in enumerate(groups):
        rgb = colour(k)
        for i, (x1, y1, x2, y2) in enumerate(np.asarray(boxes, np.float64).reshape(-1, 4)):
            draw.rectangle([x1, y1, x2, y2], outline=rgb, width=2)
            if scores is not None:
                draw.text((x1 + 2, y1 + 1), '%.2f' % scores[i], fill=rgb)
        entries.append((rgb, '%s: %d boxes' % (name, len(np.reshape(boxes, (-1, 4))))))
    _save(_legend(picture, entries), path)
