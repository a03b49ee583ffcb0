// Child process of the rollout-scaling bench's bare-engine reference: loads the student, warms up, prints READY,
// waits for a line on stdin, then samples `calls` batched generate calls (groups of 4 of the bench's tasks, 32
// rows per call, as a rollout worker does) and prints one JSON line with its tokens, wall and CPU seconds.
// Run by bench/pipeline/rollout-scaling.ts: node --import tsx bench/pipeline/generate-loop.ts <calls> <maxNewTokens>
import { createInterface } from 'node:readline';
import { initBackend } from '../../src/engine/index.ts';
import { chunkByRows, loadPolicy, MAX_BATCH_SEQUENCES, rolloutGroups, type RolloutRequest } from '../../src/actors/index.ts';
import { listTasks, toTaskSpec } from '../../src/tasks/index.ts';

const calls = Number(process.argv[2] ?? 16);
const maxNewTokens = Number(process.argv[3] ?? 32);
await initBackend('wasm', () => {});
const policy = await loadPolicy('models/student');
const groupSize = 4;
const groups = (calls + 1) * (MAX_BATCH_SEQUENCES / groupSize);
const requests = listTasks({ suite: 'add:1-2', split: 'train', limit: groups, seed: 7 }).map((t, i): RolloutRequest => ({
  runId: 'engine', groupId: `engine-g${i}-${process.pid}`, task: toTaskSpec(t) as RolloutRequest['task'], groupSize, workerId: 'engine',
  sampling: { temperature: 1.0, topK: 0, topP: 1.0, maxNewTokens, stopTokenIds: [], seed: 0 },
}));
const [warm, ...timed] = chunkByRows(requests, MAX_BATCH_SEQUENCES);
rolloutGroups(policy, warm!);
console.log('READY');
const lines = createInterface({ input: process.stdin });
await new Promise<void>((resolve) => lines.once('line', () => resolve()));
lines.close();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let tokens = 0;
for (const chunk of timed.slice(0, calls)) {
  for (const group of rolloutGroups(policy, chunk)) tokens += group.reduce((a, t) => a + t.completionTokenIds.length, 0);
}
const wallSeconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ tokens, wallSeconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 }));
policy.model.dispose();
