// rlmesh dashboard: the worker table (actor, process, gRPC health, policy version, throughput).
export function renderWorkers(tbody, workers) {
  if (workers.length === 0) {
    const tr = document.createElement('tr');
    const td = document.createElement('td');
    td.colSpan = 6;
    td.className = 'muted';
    td.textContent = 'no spawned workers (cluster mode: see each deployment)';
    tr.append(td);
    tbody.replaceChildren(tr);
    return;
  }
  tbody.replaceChildren(...workers.map((w) => {
    const tr = document.createElement('tr');
    const cells = [w.worker, w.actor, w.process + (w.exitCode !== null ? ` (${w.exitCode})` : ''), w.health,
      w.policyVersion ?? '–', w.throughput === null ? '–' : `${w.throughput.toFixed(1)} ${w.throughputUnit}`];
    cells.forEach((v, i) => {
      const td = document.createElement('td');
      td.textContent = String(v);
      if (i === 3) td.className = w.health;
      tr.append(td);
    });
    return tr;
  }));
}
