// rlmesh dashboard: run list, per-run live charts from the metrics SSE stream, workers and trace waterfall.
import { getJson, postJson } from './api.js';
import { createChart } from './charts.js';
import { renderWaterfall } from './waterfall.js';
import { renderWorkers } from './workers.js';

/** Chart id -> title and the metrics keys it plots (the first present key per series wins). */
const CHARTS = [
  ['reward', 'reward (mean)', { reward: ['reward'] }],
  ['accuracy', 'accuracy', { batch: ['accuracy'], 'held-out': ['heldout_accuracy', 'eval_accuracy'] }],
  ['reverse_kl', 'reverse KL (student‖teacher)', { reverse_kl: ['reverse_kl', 'kl'] }],
  ['entropy', 'entropy (nats/token)', { entropy: ['entropy'] }],
  ['response_length', 'response length (tokens)', { length: ['response_length'] }],
  ['tokens_per_s', 'learner tokens/s', { 'tokens/s': ['tokens_per_s'] }],
  ['staleness', 'not trained: stale drops and filtered groups', { 'stale (total)': ['dropped_stale_total'], 'stale (step)': ['dropped_stale'], 'filtered groups (step)': ['filtered_groups'] }],
];

const $ = (id) => document.getElementById(id);
const tokenInput = $('token');
tokenInput.value = localStorage.getItem('rlmesh-token') ?? '';
tokenInput.addEventListener('change', () => localStorage.setItem('rlmesh-token', tokenInput.value));

let selected = null;
let source = null;
let charts = {};
let points = [];
let curriculum = [];

function categoryOf(key) {
  return key.replace(/[-:/@]d?\d+$/, '');
}

function redraw() {
  const learner = points.filter((p) => p.source === 'learner');
  for (const [id, , series] of CHARTS) {
    const data = {};
    for (const [name, keys] of Object.entries(series)) {
      data[name] = learner.flatMap((p) => { const k = keys.find((key) => typeof p[key] === 'number'); return k ? [[p.step, p[k]]] : []; });
    }
    charts[id].set(data);
  }
  const byCat = {};
  for (const c of curriculum) {
    const sums = {};
    for (const { key, probability } of c.curriculum) sums[categoryOf(key)] = (sums[categoryOf(key)] ?? 0) + probability;
    for (const [cat, p] of Object.entries(sums)) (byCat[cat] ??= []).push([c.step, p]);
  }
  charts.curriculum.set(byCat);
}

function showStatus(run) {
  $('run-title').textContent = run.runId;
  $('run-state').textContent = run.state;
  $('run-state').className = `badge ${run.state}`;
  $('stop').disabled = !(run.state === 'running' || run.state === 'starting');
  const a = run.accounting;
  $('run-facts').textContent = `${run.mode} / ${run.objective} · step ${run.step}/${run.steps} · policy v${run.policyVersion} · ` +
    `groups: ${a.dispatched} dispatched, ${a.completed} trained, ${a.droppedStale} stale, ${a.filtered ?? 0} filtered, ${a.rejected ?? 0} rejected, ${a.deadLettered} dead-lettered · in flight ${run.inFlight}` +
    (run.error ? ` · error: ${run.error}` : '');
  renderWorkers($('workers').querySelector('tbody'), run.workers);
}

function selectRun(runId) {
  if (selected === runId) return;
  selected = runId;
  source?.close();
  points = [];
  curriculum = [];
  const box = $('charts');
  box.replaceChildren();
  charts = {};
  for (const [id, title] of CHARTS) charts[id] = createChart(box, id, title);
  charts.curriculum = createChart(box, 'curriculum', 'curriculum weight per category');
  for (const li of $('runs').children) li.classList.toggle('selected', li.dataset.run === runId);
  source = new EventSource(`/runs/${encodeURIComponent(runId)}/metrics?stream=1`);
  // Every connection (also the browser's automatic reconnect) starts with the run's whole backlog: start over.
  source.addEventListener('open', () => { points = []; curriculum = []; $('conn').textContent = 'live'; $('conn').className = 'live'; });
  source.addEventListener('error', () => { $('conn').textContent = 'stream closed'; $('conn').className = 'muted'; });
  source.addEventListener('metrics', (e) => { points.push(JSON.parse(e.data)); redraw(); });
  source.addEventListener('status', (e) => {
    const run = JSON.parse(e.data);
    showStatus(run);
  });
  source.addEventListener('curriculum', (e) => { curriculum.push(JSON.parse(e.data)); redraw(); });
  source.addEventListener('end', (e) => { showStatus(JSON.parse(e.data)); source.close(); $('conn').textContent = 'run ended'; });
  void loadTraces();
}

async function loadRuns() {
  const { runs } = await getJson('/runs');
  const list = $('runs');
  list.replaceChildren(...runs.map((r) => {
    const li = document.createElement('li');
    li.dataset.run = r.runId;
    li.textContent = `${r.runId} · ${r.state} · ${r.step}/${r.steps}`;
    li.classList.toggle('selected', r.runId === selected);
    li.addEventListener('click', () => selectRun(r.runId));
    return li;
  }));
  if (!selected && runs.length) selectRun((runs.find((r) => r.state === 'running') ?? runs[runs.length - 1]).runId);
  const current = runs.find((r) => r.runId === selected);
  if (current) showStatus(current);
}

async function loadTraces() {
  if (!selected) return;
  const { traces, otlpEndpoint } = await getJson(`/runs/${encodeURIComponent(selected)}/traces?limit=40&min_services=2`);
  const list = $('trace-list');
  if (traces.length === 0 && otlpEndpoint) {
    const li = document.createElement('li');
    li.className = 'muted';
    li.textContent = `Spans are exported over OTLP to ${otlpEndpoint}: open this run's traces in your tracing backend (e.g. Jaeger).`;
    list.replaceChildren(li);
    return;
  }
  list.replaceChildren(...traces.map((t) => {
    const li = document.createElement('li');
    li.dataset.trace = t.traceId;
    li.textContent = `${t.traceId.slice(0, 12)} · ${t.services.length} svc · ${t.spans} spans · ${(t.durationMs / 1000).toFixed(1)} s${t.taskId ? ` · ${t.taskId}` : ''}`;
    li.addEventListener('click', () => openTrace(t.traceId));
    return li;
  }));
  if (traces.length === 0) list.innerHTML = '<li class="muted">no traces yet</li>';
}

async function openTrace(traceId) {
  for (const li of $('trace-list').children) li.classList.toggle('selected', li.dataset.trace === traceId);
  const { spans } = await getJson(`/runs/${encodeURIComponent(selected)}/traces/${traceId}`);
  renderWaterfall($('waterfall'), spans);
}

$('refresh-traces').addEventListener('click', () => void loadTraces());
$('stop').addEventListener('click', async () => {
  try { showStatus(await postJson(`/runs/${encodeURIComponent(selected)}/stop`, tokenInput.value)); } catch (err) { alert(`stop: ${err.message}`); }
});

void loadRuns();
setInterval(() => void loadRuns().catch(() => {}), 3000);
