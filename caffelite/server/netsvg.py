"""A network drawn as SVG without Graphviz: one box per layer (labelled and
colored as caffelite.draw labels them), an arrow per bottom from the layer
that last wrote that blob, layers placed in rows by their longest path from
the inputs. Enough to see a prototxt's shape in a browser."""
from xml.sax.saxutils import escape

from ..draw import LAYER_COLORS, layer_label

CHAR_W, LINE_H, PAD, ROW_GAP, COL_GAP = 7, 14, 8, 46, 18
DEFAULT_COLOR = '#6495ED'


def _ranks(net):
    """(rank of each layer, [(producer, consumer, blob)]) of a NetParameter."""
    producer, ranks, edges = {}, [], []
    for i, layer in enumerate(net.layer):
        sources = [(producer[b], b) for b in layer.bottom if b in producer]
        ranks.append(1 + max((ranks[p] for p, _ in sources), default=-1))
        edges += [(p, i, b) for p, b in sources]
        for top in layer.top:
            producer[top] = i
    return ranks, edges


def draw(net):
    """SVG text of ``net`` (a NetParameter), top to bottom."""
    ranks, edges = _ranks(net)
    labels = [layer_label(layer, '\n').split('\n') for layer in net.layer]
    sizes = [(max(len(line) for line in lines) * CHAR_W + 2 * PAD,
              len(lines) * LINE_H + 2 * PAD) for lines in labels]
    rows = {}
    for i, rank in enumerate(ranks):
        rows.setdefault(rank, []).append(i)
    width = max([sum(sizes[i][0] + COL_GAP for i in row) for row in rows.values()] + [0])
    boxes, y = {}, PAD
    for rank in sorted(rows):
        row = rows[rank]
        x = (width - sum(sizes[i][0] + COL_GAP for i in row)) / 2 + COL_GAP / 2
        for i in row:
            boxes[i] = (x, y) + sizes[i]
            x += sizes[i][0] + COL_GAP
        y += max(sizes[i][1] for i in row) + ROW_GAP
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="monospace" font-size="12">' % (width + 2 * PAD, y),
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" '
           'markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>',
           '<title>%s</title>' % escape(net.name or 'Net')]
    for src, dst, blob in edges:
        x0, y0, w0, h0 = boxes[src]
        x1, y1, w1, _ = boxes[dst]
        out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#555" '
                   'marker-end="url(#arrow)"><title>%s</title></line>'
                   % (x0 + w0 / 2, y0 + h0, x1 + w1 / 2, y1, escape(blob)))
    for i, layer in enumerate(net.layer):
        x, y0, w, h = boxes[i]
        out.append('<g><title>%s</title><rect x="%.1f" y="%.1f" width="%d" height="%d" rx="4" '
                   'fill="%s" stroke="#333"/>' % (escape(layer.name), x, y0, w, h,
                                                  LAYER_COLORS.get(layer.type, DEFAULT_COLOR)))
        for k, line in enumerate(labels[i]):
            out.append('<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>'
                       % (x + w / 2, y0 + PAD + (k + 0.8) * LINE_H, escape(line)))
        out.append('</g>')
    out.append('</svg>')
    return '\n'.join(out)
