/** A horizontal bar chart of rx/Go ratios as SVG: each target a tick; green met, red not, grey no target. */
export interface Bar {
  label: string;
  ratio: number;
  target?: number;
}

export function ratioChart(title: string, bars: Bar[]): string {
  const width = 760;
  const left = 330;
  const rowH = 30;
  const top = 40;
  const height = top + bars.length * rowH + 40;
  const max = Math.max(2.5, ...bars.map((b) => b.ratio), ...bars.map((b) => b.target ?? 0)) * 1.1;
  const x = (v: number) => left + (v / max) * (width - left - 60);
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const rows = bars
    .map((b, i) => {
      const y = top + i * rowH;
      const ok = b.target === undefined || b.ratio <= b.target;
      const target = b.target !== undefined ? `<line x1="${x(b.target)}" x2="${x(b.target)}" y1="${y - 2}" y2="${y + 22}" stroke="#000" stroke-width="2"/>` : '';
      return `<text x="${left - 8}" y="${y + 15}" text-anchor="end" font-size="13">${esc(b.label)}</text>
<rect x="${left}" y="${y}" width="${Math.max(1, x(b.ratio) - left)}" height="20" fill="${b.target === undefined ? '#999' : ok ? '#3a7' : '#d54'}"/>
<text x="${x(b.ratio) + 6}" y="${y + 15}" font-size="12">${b.ratio.toFixed(2)}${b.target !== undefined ? ` (target ≤ ${b.target})` : ''}</text>${target}`;
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="22" font-size="15" font-weight="bold">${esc(title)}</text>
<line x1="${x(1)}" x2="${x(1)}" y1="${top - 6}" y2="${height - 30}" stroke="#999" stroke-dasharray="4 3"/>
<text x="${x(1)}" y="${height - 14}" text-anchor="middle" font-size="11">1.0 = same as containerd-shim-runc-v2</text>
${rows}
</svg>
`;
}
