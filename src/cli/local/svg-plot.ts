// Static SVG line plots of a run's curves for summary.md (the dashboard draws the same curves live in the browser).
const PALETTE = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563'];
const W = 480, H = 200, L = 52, R = 12, T = 24, B = 34;

export type Series = Record<string, Array<[number, number]>>;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function fmt(v: number): string {
  const a = Math.abs(v);
  return a >= 1000 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 0.1 ? v.toFixed(2) : v.toPrecision(2);
}

/** A self-contained SVG document: one line per series over learner steps, axes with min/max labels, a legend. */
export function linePlotSvg(title: string, series: Series): string {
  const entries = Object.entries(series).filter(([, pts]) => pts.length > 0);
  const all = entries.flatMap(([, pts]) => pts);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`, `<text x="${L}" y="15" font-size="13" font-weight="bold">${esc(title)}</text>`];
  if (all.length === 0) {
    parts.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#6b7280">no data</text>`, '</svg>');
    return parts.join('\n');
  }
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  let [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) { y0 -= Math.abs(y0) * 0.1 || 0.5; y1 += Math.abs(y1) * 0.1 || 0.5; }
  const sx = (x: number) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const sy = (y: number) => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
  parts.push(
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#9ca3af"/>`, `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#9ca3af"/>`,
    `<text x="${L - 4}" y="${T + 8}" text-anchor="end" fill="#6b7280">${fmt(y1)}</text>`, `<text x="${L - 4}" y="${H - B}" text-anchor="end" fill="#6b7280">${fmt(y0)}</text>`,
    `<text x="${L}" y="${H - B + 14}" fill="#6b7280">${x0}</text>`, `<text x="${W - R}" y="${H - B + 14}" text-anchor="end" fill="#6b7280">${x1}</text>`,
    `<text x="${(L + W - R) / 2}" y="${H - B + 14}" text-anchor="middle" fill="#6b7280">learner step</text>`,
  );
  entries.forEach(([name, pts], i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const d = pts.map((p, j) => `${j ? 'L' : 'M'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join('');
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.6"/>`);
    parts.push(`<text x="${L + 8 + i * 110}" y="${H - 6}" fill="${color}">■ ${esc(name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
