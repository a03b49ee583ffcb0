// rlmesh dashboard: small SVG line charts (one or more series over learner steps), redrawn on each new point.
const NS = 'http://www.w3.org/2000/svg';
export const PALETTE = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563'];
const W = 300, H = 130, L = 38, R = 6, T = 6, B = 18;

function el(name, attrs, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function fmt(v) {
  const a = Math.abs(v);
  return a >= 1000 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 0.1 ? v.toFixed(2) : v.toPrecision(2);
}

/** A chart card: `chart.set(seriesMap)` redraws; seriesMap = { name: [[x, y], ...] }. */
export function createChart(parent, id, title) {
  const card = document.createElement('div');
  card.className = 'chart';
  const h = document.createElement('h4');
  const latest = document.createElement('span');
  latest.className = 'muted';
  h.append(title, latest);
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', 'data-chart': id, 'data-points': 0 });
  const legend = document.createElement('div');
  legend.className = 'legend';
  card.append(h, svg, legend);
  parent.append(card);
  return {
    set(series) {
      const entries = Object.entries(series).filter(([, pts]) => pts.length > 0);
      const all = entries.flatMap(([, pts]) => pts);
      svg.replaceChildren();
      svg.setAttribute('data-points', String(all.length));
      legend.replaceChildren(...entries.map(([name], i) => {
        const s = document.createElement('span');
        s.style.color = PALETTE[i % PALETTE.length];
        s.textContent = `■ ${name}`;
        return s;
      }));
      if (all.length === 0) { latest.textContent = ''; return; }
      const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
      let [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
      if (x1 === x0) x1 = x0 + 1;
      if (y1 === y0) { y0 -= Math.abs(y0) * 0.1 || 0.5; y1 += Math.abs(y1) * 0.1 || 0.5; }
      const sx = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
      const sy = (y) => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
      svg.append(el('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#9ca3af' }), el('line', { x1: L, y1: T, x2: L, y2: H - B, stroke: '#9ca3af' }));
      svg.append(el('text', { x: L - 3, y: T + 8, 'text-anchor': 'end', 'font-size': 9, fill: '#6b7280' }, fmt(y1)));
      svg.append(el('text', { x: L - 3, y: H - B, 'text-anchor': 'end', 'font-size': 9, fill: '#6b7280' }, fmt(y0)));
      svg.append(el('text', { x: L, y: H - 4, 'font-size': 9, fill: '#6b7280' }, `step ${x0}`));
      svg.append(el('text', { x: W - R, y: H - 4, 'text-anchor': 'end', 'font-size': 9, fill: '#6b7280' }, `${x1}`));
      entries.forEach(([, pts], i) => {
        const color = PALETTE[i % PALETTE.length];
        const d = pts.map((p, j) => `${j ? 'L' : 'M'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join('');
        svg.append(el('path', { d, fill: 'none', stroke: color, 'stroke-width': 1.6, 'vector-effect': 'non-scaling-stroke' }));
        if (pts.length < 40) for (const p of pts) svg.append(el('circle', { cx: sx(p[0]), cy: sy(p[1]), r: 1.8, fill: color }));
      });
      const [firstName, firstPts] = entries[0];
      latest.textContent = `${entries.length > 1 ? firstName + ' ' : ''}${fmt(firstPts[firstPts.length - 1][1])}`;
    },
  };
}
