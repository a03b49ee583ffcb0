// One progress-bar helper for every long CLI job (pretrain, eval, bench, runs). Quiet when stderr is not a TTY
// unless RLMESH_PROGRESS=1; then it prints a line every ~10% instead of redrawing.
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, fields?: Record<string, string | number>): void;
  stop(): void;
}

export function progressBar(label: string, total: number, fieldNames: string[] = []): Progress {
  const fmt = (f: Record<string, string | number>) => fieldNames.map((k) => `${k}=${f[k] ?? '-'}`).join(' ');
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar({
      format: `${label} [{bar}] {value}/{total} {percentage}% | {extra}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
    }, cliProgress.Presets.shades_classic);
    bar.start(total, 0, { extra: '' });
    return { update: (d, f = {}) => bar.update(d, { extra: fmt(f) }), stop: () => bar.stop() };
  }
  let lastDecile = -1;
  return {
    update(done, f = {}) {
      const decile = Math.floor((10 * done) / Math.max(1, total));
      if (decile !== lastDecile) {
        lastDecile = decile;
        process.stderr.write(`${label} ${done}/${total} ${fmt(f)}\n`);
      }
    },
    stop() {},
  };
}
