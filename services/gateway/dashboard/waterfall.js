// rlmesh dashboard: trace waterfall — one row per span on a shared time axis, bars coloured by service.
import { PALETTE } from './charts.js';
const NS = 'http://www.w3.org/2000/svg';
const ROW = 16, LABEL = 280, AXIS = 22;

function el(name, attrs, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Orders spans depth-first under their parents (children by start time) and returns [span, depth] pairs. */
function treeOrder(spans) {
  const ids = new Set(spans.map((s) => s.spanId));
  const kids = new Map();
  for (const s of spans) {
    const p = s.parentSpanId && ids.has(s.parentSpanId) ? s.parentSpanId : null;
    if (!kids.has(p)) kids.set(p, []);
    kids.get(p).push(s);
  }
  const out = [];
  const walk = (parent, depth) => {
    for (const s of (kids.get(parent) ?? []).sort((a, b) => a.startUnixMs - b.startUnixMs)) {
      out.push([s, depth]);
      walk(s.spanId, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}

export function renderWaterfall(container, spans) {
  const WIDTH = Math.max(600, container.clientWidth - 16);
  const rows = treeOrder(spans);
  const t0 = Math.min(...spans.map((s) => s.startUnixMs));
  const t1 = Math.max(...spans.map((s) => s.endUnixMs));
  const span = Math.max(t1 - t0, 0.001);
  const services = [...new Set(spans.map((s) => s.serviceName))].sort();
  const color = (svc) => PALETTE[services.indexOf(svc) % PALETTE.length];
  const height = AXIS + rows.length * ROW + 4;
  const svg = el('svg', { width: WIDTH, height, 'data-waterfall': 'true', 'data-spans': spans.length, 'data-services': services.length });
  const x = (t) => LABEL + ((t - t0) / span) * (WIDTH - LABEL - 10);
  for (let i = 0; i <= 4; i++) {
    const t = t0 + (span * i) / 4;
    svg.append(el('line', { x1: x(t), y1: AXIS - 4, x2: x(t), y2: height, stroke: '#eef0f3' }));
    svg.append(el('text', { x: x(t), y: 12, 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle', fill: '#6b7280' }, `${((t - t0)).toFixed(0)} ms`));
  }
  rows.forEach(([s, depth], i) => {
    const y = AXIS + i * ROW;
    const g = el('g', { 'data-service': s.serviceName, class: 'span-row' });
    const title = el('title', {}, `${s.serviceName} (pid ${s.pid})\n${s.name}\n${(s.endUnixMs - s.startUnixMs).toFixed(2)} ms${s.status.code === 'ERROR' ? `\nERROR ${s.status.message ?? ''}` : ''}`);
    g.append(title);
    g.append(el('text', { x: 4 + depth * 10, y: y + 11, fill: '#1d2330' }, `${s.name}`.slice(0, 44 - depth * 2)));
    const w = Math.max(x(s.endUnixMs) - x(s.startUnixMs), 1.5);
    g.append(el('rect', { x: x(s.startUnixMs), y: y + 2, width: w, height: ROW - 4, rx: 2, fill: color(s.serviceName), opacity: s.status.code === 'ERROR' ? 1 : 0.85, stroke: s.status.code === 'ERROR' ? '#000' : 'none' }));
    svg.append(g);
  });
  const legend = document.createElement('div');
  legend.className = 'legend';
  legend.innerHTML = '';
  for (const svc of services) {
    const item = document.createElement('span');
    item.style.color = color(svc);
    item.style.marginRight = '10px';
    item.textContent = `■ ${svc.replace(/^rlmesh-/, '')}`;
    legend.append(item);
  }
  const info = document.createElement('div');
  info.className = 'muted';
  info.textContent = `trace ${spans[0].traceId}: ${spans.length} spans, ${services.length} services, ${new Set(spans.map((s) => `${s.serviceName}/${s.pid}`)).size} processes, ${span.toFixed(0)} ms`;
  container.replaceChildren(info, legend, svg);
}
