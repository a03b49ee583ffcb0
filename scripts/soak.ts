// Soak: a small OPD pipeline (gateway + verifier + teacher + learner + rollout workers as separate processes, on a
// private nats-server this script owns) runs for --minutes (default 10) under a rotating fault every --fault-every
// seconds: SIGKILL of rollout-1 (restarted at once), SIGSTOP of the teacher for 2 x ack_wait, a NATS restart (1 s
// down). Every --sample-every seconds it samples the RSS of every process and the run's stream sizes. At the end the
// run is stopped, the in-flight work drains, and it checks:
//   flat memory: per process incarnation sampled for >= 120 s, mean RSS of the last third of its samples
//                <= 1.25 x the mean of the middle third;
//   zero loss:   dispatched = completed + dropped stale + in flight + dead-lettered groups (GET /runs/:id), the
//                learner's trained groups = completed, no trajectory trained twice, every learner step reported once,
//                in flight at the end <= max_in_flight.
// Prints a summary table (and a `soak summary {json}` line); exits 1 when a check fails.
// Run: npm run soak -- [--minutes 10] [--fault-every 75] [--sample-every 5]
// (The gateway's --spawn-actors mode ends a run when an actor exits, so the soak starts the actors itself and
// restarts the killed worker, like test/e2e/harness.ts.)
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { RestartableNats } from '../test/faults/private-nats.ts';
import { runNames } from '../src/platform/nats/index.ts';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    'fault-every': { type: 'string', default: '75' },
    'sample-every': { type: 'string', default: '5' },
    workers: { type: 'string', default: '2' },
  },
});
const MINUTES = Number(args.minutes);
const FAULT_EVERY_S = Number(args['fault-every']);
const SAMPLE_EVERY_S = Number(args['sample-every']);
const WORKERS = Number(args.workers);
for (const [k, v] of Object.entries({ minutes: MINUTES, 'fault-every': FAULT_EVERY_S, 'sample-every': SAMPLE_EVERY_S, workers: WORKERS })) {
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${k} must be a positive number`);
}
const ACK_WAIT_MS = 5000;
const MAX_IN_FLIGHT = 4;
const FLAT_RATIO = 1.25;
const JUDGED_AFTER_S = 120;

const nats = await RestartableNats.start();
process.env.RLMESH_NATS_URL = nats.url; // read by the harness fixtures at import
const token = randomBytes(16).toString('hex');
process.env.RLMESH_API_TOKEN = token; // the gateway child inherits it; POST /runs/:id/stop needs it
const { RunHarness } = await import('../test/e2e/harness.ts');
const { assertAccounting, assertTrainedOnce, groupOf } = await import('../test/e2e/run-checks.ts');

const t0 = Date.now();
const elapsedS = () => (Date.now() - t0) / 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (m: string) => process.stdout.write(`[soak ${elapsedS().toFixed(0).padStart(4)}s] ${m}\n`);

interface RssSample { t: number; kb: number }
/** pid -> label and samples of that incarnation. */
const rss = new Map<number, { label: string; samples: RssSample[] }>();
const streams = new Map<string, { t: number; messages: number; bytes: number }[]>();
const faults: Array<{ kind: string; atS: number; stepBefore: number; durationMs: number; recoveryMs?: number; stepAfterFault?: number; endedAt?: number }> = [];
const failures: string[] = [];

function readRssKb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

const h = await RunHarness.create({
  prefix: 'soak',
  config: { learner: { steps: 1_000_000 }, rollout: { max_in_flight: MAX_IN_FLIGHT }, nats: { ack_wait_ms: ACK_WAIT_MS, max_deliver: 10 } },
});
const names = runNames(h.runId);
const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
const jsm: JetStreamManager = await jetstreamManager(nc);
/** Label -> stream sampled: every stage's stream and the weights bucket's. */
const sampledStreams: Array<[string, string]> = [...Object.entries(names.stages).map(([stage, x]) => [stage, x.stream] as [string, string]), ['weights objects', `OBJ_${names.weightsBucket}`]];

async function sample(): Promise<{ step: number; dispatched: number; completed: number; inFlight: number; rssMb: number }> {
  const now = elapsedS();
  const pids: Array<[string, number | undefined]> = [...h.processes.values()].map((p) => [p.label, p.proc.child.exitCode === null && p.proc.child.signalCode === null ? p.pid : undefined]);
  pids.push(['nats-server', nats.pid]);
  let totalKb = 0;
  for (const [label, pid] of pids) {
    if (!pid) continue;
    const kb = readRssKb(pid);
    if (kb === null) continue;
    totalKb += kb;
    const series = rss.get(pid) ?? { label, samples: [] };
    series.samples.push({ t: now, kb });
    rss.set(pid, series);
  }
  for (const [label, s] of sampledStreams) {
    try {
      const info = await jsm.streams.info(s);
      const list = streams.get(label) ?? [];
      list.push({ t: now, messages: info.state.messages, bytes: info.state.bytes });
      streams.set(label, list);
    } catch {
      // broker down during a fault: skip this sample
    }
  }
  const st = await h.status().catch(() => null);
  for (const f of faults) {
    if (f.recoveryMs === undefined && f.endedAt !== undefined && st && st.step > f.stepAfterFault!) f.recoveryMs = Date.now() - f.endedAt;
  }
  return { step: st?.step ?? -1, dispatched: st?.accounting.dispatched ?? -1, completed: st?.accounting.completed ?? -1, inFlight: st?.inFlight ?? -1, rssMb: totalKb / 1024 };
}

const FAULTS = ['kill-rollout', 'pause-teacher', 'restart-nats'] as const;
async function inject(kind: (typeof FAULTS)[number]): Promise<void> {
  const stepBefore = (await h.status()).step;
  const start = Date.now();
  const f: (typeof faults)[number] = { kind, atS: Math.round(elapsedS()), stepBefore, durationMs: 0 };
  faults.push(f);
  log(`fault: ${kind} (step ${stepBefore})`);
  if (kind === 'kill-rollout') {
    await h.kill('rollout-1');
    await h.startActor('rollout-1');
  } else if (kind === 'pause-teacher') {
    h.signal('teacher', 'SIGSTOP');
    await sleep(2 * ACK_WAIT_MS);
    h.signal('teacher', 'SIGCONT');
  } else {
    await nats.down();
    await sleep(1000);
    await nats.up();
  }
  f.durationMs = Date.now() - start;
  f.endedAt = Date.now();
  f.stepAfterFault = (await h.status().catch(() => ({ step: stepBefore }))).step;
}

function unexpectedExit(): string | null {
  for (const p of h.processes.values()) {
    if (p.proc.child.exitCode !== null || (p.proc.child.signalCode !== null && p.proc.child.signalCode !== 'SIGSTOP')) {
      return `${p.proc.label} exited (${p.proc.child.exitCode ?? p.proc.child.signalCode})\n${h.log(p.proc.label).slice(-2000)}`;
    }
  }
  return null;
}

let exitCode = 0;
try {
  log(`run ${h.runId}: ${MINUTES} min, fault every ${FAULT_EVERY_S} s (${FAULTS.join(' -> ')}), sampling every ${SAMPLE_EVERY_S} s; NATS ${nats.url}`);
  await h.startAll(WORKERS);
  log(`all actors ready (gateway http://127.0.0.1:${h.httpPort}); logs in ${h.logDir}`);
  const soakStart = Date.now();
  const deadline = soakStart + MINUTES * 60_000;
  let nextFault = soakStart + FAULT_EVERY_S * 1000;
  let nextSample = soakStart;
  let faultIndex = 0;
  let lastLine = 0;
  while (Date.now() < deadline) {
    const dead = unexpectedExit();
    if (dead) { failures.push(`process died: ${dead}`); break; }
    if (Date.now() >= nextSample) {
      const s = await sample();
      nextSample += SAMPLE_EVERY_S * 1000;
      if (Date.now() - lastLine >= 30_000 || process.stdout.isTTY) {
        const left = Math.max(0, (deadline - Date.now()) / 1000).toFixed(0);
        log(`step ${s.step}  dispatched ${s.dispatched}  completed ${s.completed}  in flight ${s.inFlight}  RSS total ${s.rssMb.toFixed(0)} MiB  faults ${faults.length}  ${left}s left`);
        lastLine = Date.now();
      }
    }
    if (Date.now() >= nextFault) {
      await inject(FAULTS[faultIndex++ % FAULTS.length]!);
      nextFault += FAULT_EVERY_S * 1000;
    }
    await sleep(250);
  }
  await sample();

  // Stop dispatching, let what is in flight finish (no new step and no feedback for 30 s, at most 4 min).
  const stop = await fetch(`http://127.0.0.1:${h.httpPort}/runs/${h.runId}/stop`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  if (!stop.ok) failures.push(`POST /runs/${h.runId}/stop: ${stop.status} ${await stop.text()}`);
  log('run stopped; draining in-flight work');
  let final = await h.status();
  let stableSince = Date.now();
  const drainDeadline = Date.now() + 240_000;
  while (Date.now() < drainDeadline && Date.now() - stableSince < 30_000) {
    await sleep(2000);
    const s = await h.status();
    if (s.step !== final.step || s.accounting.completed !== final.accounting.completed || s.inFlight !== final.inFlight) stableSince = Date.now();
    final = s;
    await sample();
  }
  for (const f of faults) if (f.recoveryMs === undefined) failures.push(`no learner step after fault ${f.kind} at ${f.atS}s`);
  await h.stopAll();

  // Zero loss.
  const a = final.accounting;
  const spans = h.spans();
  const check = (what: string, fn: () => void) => {
    try { fn(); } catch (e) { failures.push(`${what}: ${e instanceof Error ? e.message : String(e)}`); }
  };
  // Dead letters count trajectories, not groups: a group with a dead-lettered trajectory is trained with the rest.
  const ids = h.trainerState().rng?.trainedIds ?? [];
  const trainedGroups = new Set(ids.map(groupOf));
  check('accounting', () => assertAccounting(h, final, spans));
  check('trained once', () => assertTrainedOnce(h, spans));
  const identity = a.completed + a.droppedStale + a.filtered + final.inFlight;
  if (identity !== a.dispatched) failures.push(`dispatched ${a.dispatched} != completed ${a.completed} + stale ${a.droppedStale} + filtered ${a.filtered} + in flight ${final.inFlight}`);
  if (final.inFlight > MAX_IN_FLIGHT) failures.push(`${final.inFlight} groups in flight after draining (max_in_flight ${MAX_IN_FLIGHT})`);
  const steps = h.metricsLines().filter((m) => m.source === 'learner').map((m) => Number(m.step)).sort((x, y) => x - y);
  const stepsOk = steps.length === final.step && steps.every((s, i) => s === i + 1);
  if (!stepsOk) failures.push(`learner metrics steps are not 1..${final.step} once each (${steps.length} events)`);

  // Flat memory.
  const mean = (xs: RssSample[]) => xs.reduce((acc, s) => acc + s.kb, 0) / Math.max(1, xs.length);
  const rows: Array<Record<string, string | number>> = [];
  for (const [pid, { label, samples }] of rss) {
    const span = samples.length ? samples.at(-1)!.t - samples[0]!.t : 0;
    const third = Math.floor(samples.length / 3);
    const mid = mean(samples.slice(third, 2 * third));
    const last = mean(samples.slice(2 * third));
    const judged = span >= JUDGED_AFTER_S && third >= 3;
    const ratio = mid > 0 ? last / mid : 0;
    const ok = !judged || ratio <= FLAT_RATIO;
    if (!ok) failures.push(`${label} (pid ${pid}): mean RSS of the last third ${(last / 1024).toFixed(1)} MiB > ${FLAT_RATIO} x middle third ${(mid / 1024).toFixed(1)} MiB`);
    rows.push({ process: label, pid, seconds: Math.round(span), samples: samples.length, firstMiB: +(samples[0]!.kb / 1024).toFixed(1), middleMiB: +(mid / 1024).toFixed(1), lastMiB: +(last / 1024).toFixed(1), maxMiB: +(Math.max(...samples.map((s) => s.kb)) / 1024).toFixed(1), ratio: +ratio.toFixed(3), verdict: judged ? (ok ? 'flat' : 'GROWS') : 'short (not judged)' });
  }
  const streamRows = [...streams].map(([name, xs]) => ({
    stream: name,
    samples: xs.length, maxMessages: Math.max(...xs.map((x) => x.messages)), lastMessages: xs.at(-1)!.messages,
    maxKiB: +(Math.max(...xs.map((x) => x.bytes)) / 1024).toFixed(1), lastKiB: +(xs.at(-1)!.bytes / 1024).toFixed(1),
  }));
  console.log('\nProcesses (RSS):');
  console.table(rows);
  console.log('Streams (messages; on rollouts/rewarded/scored each is a TrajectoryBatch of one generate call\'s groups):');
  console.table(streamRows);
  console.log('Faults:');
  console.table(faults.map(({ kind, atS, stepBefore, durationMs, recoveryMs }) => ({ kind, atS, stepBefore, durationMs, recoveryMs: recoveryMs ?? 'none' })));
  const summary = {
    runId: h.runId, minutes: MINUTES, steps: final.step, dispatched: a.dispatched, completed: a.completed, droppedStale: a.droppedStale,
    inFlight: final.inFlight, deadLettered: a.deadLettered, redelivered: (a as { redelivered?: number }).redelivered ?? 0,
    trainedGroups: trainedGroups.size, trainedTrajectories: ids.length, duplicateIds: ids.length - new Set(ids).size,
    faults: faults.length, maxRecoveryMs: Math.max(0, ...faults.map((f) => f.recoveryMs ?? 0)),
    judgedProcesses: rows.filter((r) => r.verdict !== 'short (not judged)').length, maxRssRatio: Math.max(0, ...rows.filter((r) => r.verdict !== 'short (not judged)').map((r) => Number(r.ratio))),
    failures: failures.length,
  };
  console.log(`soak summary ${JSON.stringify(summary)}`);
  if (failures.length) {
    exitCode = 1;
    console.log(`\nSOAK FAILED (${failures.length}):\n- ${failures.join('\n- ')}`);
  } else {
    console.log('\nSOAK PASSED: flat memory, nothing lost, nothing trained twice');
  }
} catch (err) {
  exitCode = 1;
  console.error(`soak error: ${err instanceof Error ? err.stack : String(err)}`);
} finally {
  await nc.close().catch(() => undefined);
  await h.destroy().catch(() => undefined);
  await nats.destroy();
}
process.exit(exitCode);
