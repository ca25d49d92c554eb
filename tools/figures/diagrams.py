"""Draw the book's diagrams as SVG files under chapters/img/ (run: python tools/figures/diagrams.py)."""
from __future__ import annotations

import sys
from pathlib import Path

FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"'
STROKE = '#333333'
FILLS = {'input': '#dbeafe', 'hidden': '#fde68a', 'output': '#bbf7d0', 'op': '#fecaca',
         'plain': '#f3f4f6', 'kernel': '#fca5a5'}


class Canvas:
    """A list of SVG elements with a fixed size."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.items: list[str] = []

    def box(self, x: float, y: float, w: float, h: float, label: str = '', kind: str = 'plain',
            rounded: bool = True, size: int = 13) -> None:
        """A filled rectangle with a centered label (lines split at '\\n')."""
        radius = 6 if rounded else 0
        self.items.append(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="{radius}" '
                          f'fill="{FILLS[kind]}" stroke="{STROKE}" stroke-width="1.2"/>')
        lines = label.split('\n') if label else []
        for i, line in enumerate(lines):
            dy = (i - (len(lines) - 1) / 2) * (size + 2)
            self.text(x + w / 2, y + h / 2 + dy, line, size)

    def circle(self, x: float, y: float, r: float, label: str, kind: str = 'op') -> None:
        """A filled circle with a centered label, e.g. an elementwise operation."""
        self.items.append(f'<circle cx="{x}" cy="{y}" r="{r}" fill="{FILLS[kind]}" '
                          f'stroke="{STROKE}" stroke-width="1.2"/>')
        self.text(x, y, label, 13)

    def text(self, x: float, y: float, label: str, size: int = 13, anchor: str = 'middle',
             italic: bool = False) -> None:
        """A text label centered vertically at (x, y)."""
        style = ' font-style="italic"' if italic else ''
        label = label.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')
        self.items.append(f'<text x="{x}" y="{y}" dy="0.35em" font-size="{size}" '
                          f'text-anchor="{anchor}" {FONT}{style}>{label}</text>')

    def arrow(self, points: list[tuple[float, float]], dashed: bool = False) -> None:
        """A polyline through `points` with an arrow head at the end."""
        path = ' '.join(f'{x},{y}' for x, y in points)
        dash = ' stroke-dasharray="5,4"' if dashed else ''
        self.items.append(f'<polyline points="{path}" fill="none" stroke="{STROKE}" '
                          f'stroke-width="1.4" marker-end="url(#head)"{dash}/>')

    def svg(self) -> str:
        """The complete SVG document."""
        head = ('<defs><marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
                'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
                f'fill="{STROKE}"/></marker></defs>')
        body = '\n'.join(self.items)
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" '
                f'height="{self.height}" viewBox="0 0 {self.width} {self.height}">\n'
                f'<rect width="100%" height="100%" fill="white"/>\n{head}\n{body}\n</svg>\n')


def grid(c: Canvas, x: float, y: float, values: list[list[int]], cell: float,
         kind: str = 'plain', highlight: tuple[int, int, int] | None = None) -> None:
    """A matrix of numbers; `highlight` (row, col, size) marks a square window."""
    for i, row in enumerate(values):
        for j, value in enumerate(row):
            inside = (highlight is not None and highlight[0] <= i < highlight[0] + highlight[2]
                      and highlight[1] <= j < highlight[1] + highlight[2])
            c.box(x + j * cell, y + i * cell, cell, cell, str(value),
                  'kernel' if inside else kind, rounded=False)


def sliding_window() -> Canvas:
    """A 3x3 input, a 2x2 kernel and the 2x2 output of their cross-correlation."""
    c = Canvas(420, 200)
    cell = 36
    grid(c, 20, 50, [[0, 1, 2], [3, 4, 5], [6, 7, 8]], cell, 'input', highlight=(0, 0, 2))
    c.text(74, 25, 'input')
    c.text(152, 104, '\u22c6', 28)
    grid(c, 180, 68, [[0, 1], [2, 3]], cell, 'kernel')
    c.text(216, 25, 'kernel')
    c.text(284, 104, '=', 24)
    grid(c, 310, 68, [[19, 25], [37, 43]], cell, 'output', highlight=(0, 0, 1))
    c.text(346, 25, 'output')
    c.text(200, 175, 'shaded window \u2192 shaded output: '
           '0\u00b70 + 1\u00b71 + 3\u00b72 + 4\u00b73 = 19', 13)
    return c


def lenet() -> Canvas:
    """LeNet as a pipeline of layers with the shape of each output."""
    layers = [('image', '1\u00d728\u00d728', 'input'),
              ('conv 5\u00d75, pad 2\n+ ReLU', '6\u00d728\u00d728', 'hidden'),
              ('max pool\n2\u00d72, stride 2', '6\u00d714\u00d714', 'plain'),
              ('conv 5\u00d75\n+ ReLU', '16\u00d710\u00d710', 'hidden'),
              ('max pool\n2\u00d72, stride 2', '16\u00d75\u00d75', 'plain'),
              ('dense 120\n+ ReLU', '120', 'hidden'),
              ('dense 84\n+ ReLU', '84', 'hidden'),
              ('dense 10', '10', 'output')]
    c = Canvas(880, 150)
    w, gap = 92, 16
    for i, (name, shape, kind) in enumerate(layers):
        x = 10 + i * (w + gap)
        c.box(x, 30, w, 56, name, kind, size=12)
        c.text(x + w / 2, 104, shape, 12, italic=True)
        if i:
            c.arrow([(x - gap, 58), (x - 1, 58)])
    c.text(10 + 2.5 * (w + gap) - gap / 2, 130, 'convolutional encoder', 12)
    c.text(10 + 6.5 * (w + gap) - gap / 2, 130, 'dense block', 12)
    return c


def unrolled_rnn() -> Canvas:
    """A recurrent network unrolled over three time steps, sharing its weights."""
    c = Canvas(560, 260)
    for t, label in enumerate(['t-1', 't', 't+1']):
        x = 110 + t * 150
        c.box(x, 200, 80, 36, f'x_{label}', 'input')
        c.box(x, 110, 80, 44, f'H_{label}', 'hidden')
        c.box(x, 20, 80, 36, f'O_{label}', 'output')
        c.arrow([(x + 40, 200), (x + 40, 156)])
        c.arrow([(x + 40, 110), (x + 40, 58)])
        c.text(x + 50, 178, 'W_xh', 11, 'start', italic=True)
        c.text(x + 50, 84, 'W_hq', 11, 'start', italic=True)
        c.arrow([(x - 70 if t else 20, 132), (x - 1, 132)])
        c.text(x - 35 if t else 55, 120, 'W_hh', 11, italic=True)
    c.arrow([(490, 132), (545, 132)])
    return c


def gru_cell() -> Canvas:
    """A GRU cell: reset and update gates, candidate state and the convex combination."""
    c = Canvas(620, 330)
    c.box(20, 130, 70, 40, 'H_{t-1}', 'hidden')
    c.box(270, 280, 70, 36, 'X_t', 'input')
    c.box(130, 200, 80, 40, 'reset R_t\n\u03c3', 'op', size=12)
    c.box(250, 200, 90, 40, 'update Z_t\n\u03c3', 'op', size=12)
    c.box(330, 110, 100, 40, 'candidate\ntanh', 'op', size=12)
    c.circle(250, 130, 14, '\u2299')
    c.circle(480, 60, 14, '\u2299')
    c.circle(480, 200, 14, '\u2299')
    c.circle(540, 130, 14, '+')
    c.box(560 - 10, 20, 60, 36, 'H_t', 'hidden')
    c.text(395, 220, '1 \u2212 Z_t', 12)
    for target in [(170, 240), (295, 240), (380, 150)]:
        c.arrow([(305, 280), (305, 262), (target[0], 262), target])
    c.arrow([(90, 150), (150, 150), (150, 200)])
    c.arrow([(90, 150), (270, 150), (270, 200)])
    c.arrow([(170, 200), (170, 130), (236, 130)])
    c.arrow([(55, 130), (55, 60), (466, 60)])
    c.arrow([(264, 130), (330, 130)])
    c.arrow([(430, 130), (480, 130), (480, 186)])
    c.arrow([(340, 220), (466, 200)])
    c.arrow([(320, 200), (320, 180), (450, 180), (450, 84), (470, 70)], dashed=True)
    c.arrow([(494, 60), (540, 60), (540, 116)])
    c.arrow([(494, 200), (540, 200), (540, 144)])
    c.arrow([(554, 130), (580, 130), (580, 58)])
    return c


def multihead_attention() -> Canvas:
    """h heads of scaled dot-product attention, concatenated and mixed by W_o."""
    c = Canvas(560, 340)
    for i, name in enumerate(['queries', 'keys', 'values']):
        c.box(60 + i * 160, 290, 110, 36, name, 'input')
    for h, x in enumerate([40, 210, 380]):
        label = 'head h' if h == 2 else f'head {h + 1}'
        c.box(x, 190, 140, 34, 'W_q, W_k, W_v', 'plain', size=12)
        c.box(x, 130, 140, 40, f'{label}\ndot-product attention', 'hidden', size=12)
        c.arrow([(x + 70, 190), (x + 70, 172)])
        for i in range(3):
            level = 258 + i * 10  # one level per input, so the wires stay apart
            c.arrow([(115 + i * 160, 290), (115 + i * 160, level), (x + 30 + i * 40, level),
                     (x + 30 + i * 40, 226)])
        c.arrow([(x + 70, 130), (x + 70, 112), (280, 112), (280, 100)])
    c.text(365, 150, '\u2026', 20)
    c.box(200, 64, 160, 34, 'concatenate', 'plain')
    c.box(220, 10, 120, 34, 'W_o', 'output')
    c.arrow([(280, 64), (280, 46)])
    return c


def transformer_block() -> Canvas:
    """A pre-normalization Transformer block: two parts, each bypassed by a residual connection."""
    c = Canvas(400, 470)
    c.box(130, 420, 140, 36, 'X', 'input')
    c.box(130, 352, 140, 32, 'layer norm', 'plain')
    c.box(110, 288, 180, 40, 'masked multi-head\nself-attention', 'hidden', size=12)
    c.circle(200, 250, 14, '+')
    c.box(130, 186, 140, 32, 'layer norm', 'plain')
    c.box(110, 122, 180, 40, 'feed-forward\nper position', 'hidden', size=12)
    c.circle(200, 84, 14, '+')
    c.box(130, 10, 140, 36, 'output', 'output')
    c.arrow([(200, 420), (200, 386)])
    c.arrow([(200, 352), (200, 330)])
    c.arrow([(200, 288), (200, 266)])
    c.arrow([(200, 236), (200, 220)])
    c.arrow([(200, 186), (200, 164)])
    c.arrow([(200, 122), (200, 100)])
    c.arrow([(200, 70), (200, 48)])
    c.arrow([(200, 400), (330, 400), (330, 250), (216, 250)])
    c.arrow([(200, 232), (330, 232), (330, 84), (216, 84)])
    c.text(340, 320, 'residual', 12, anchor='start', italic=True)
    c.text(340, 160, 'residual', 12, anchor='start', italic=True)
    c.text(60, 250, '\u00d7 num_blocks', 12, italic=True)
    return c


DIAGRAMS = {'sliding-window': sliding_window, 'lenet': lenet, 'rnn-unrolled': unrolled_rnn,
            'gru-cell': gru_cell, 'multihead-attention': multihead_attention,
            'transformer-block': transformer_block}


def main(out_dir: Path) -> None:
    """Write every diagram as OUT_DIR/NAME.svg, atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, draw in DIAGRAMS.items():
        target = out_dir / f'{name}.svg'
        temporary = target.with_suffix('.svg.tmp')
        temporary.write_text(draw().svg(), encoding='utf-8')
        temporary.replace(target)
        print(target)


if __name__ == '__main__':
    root = Path(__file__).resolve().parents[2]
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else root / 'chapters' / 'img')
