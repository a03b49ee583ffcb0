// `rlmesh serve <actor>`: runs one actor (gRPC server + NATS worker) until SIGTERM/SIGINT, then drains.
// Example: npx rlmesh serve verifier --port 50053 --nats nats://127.0.0.1:4222 --config examples/opd.yaml
import { initBackend } from '../../engine/index.ts';
import { invalidField } from '../../errors.ts';
import { ACTORS } from '../../../services/index.ts';
import { startRuntime } from '../../../services/common/runtime.ts';
import { parseFlags, type Command } from './command.ts';
import { numberFlag, stringFlag } from './model-flags.ts';

export const serve: Command = {
  name: 'serve',
  summary: `run one actor: ${[...Object.keys(ACTORS), 'gateway'].join(' | ')} (--port P --nats URL --config FILE --run ID; gateway: --spawn-actors --rollout-workers N)`,
  async run(args) {
    const { flags, positional } = parseFlags(args, ['port', 'host', 'nats', 'config', 'run', 'metrics-port', 'worker-id', 'rollout-workers'], ['spawn-actors']);
    const name = positional[0];
    if (name === 'gateway') {
      const { serveGateway } = await import('../../../services/gateway/main.ts');
      return serveGateway({
        port: numberFlag(flags, 'port', { integer: true, min: 0, max: 65535 }), host: stringFlag(flags, 'host'),
        nats: stringFlag(flags, 'nats'), config: stringFlag(flags, 'config'), run: stringFlag(flags, 'run'),
        spawnActors: flags['spawn-actors'] === true, rolloutWorkers: numberFlag(flags, 'rollout-workers', { integer: true, min: 1, max: 64 }),
      });
    }
    const actor = name && Object.hasOwn(ACTORS, name) ? ACTORS[name] : undefined;
    if (!actor) throw invalidField('actor', `unknown actor "${name ?? ''}"; one of: ${[...Object.keys(ACTORS), 'gateway'].join(', ')}`);
    if (actor.usesEngine) await initBackend();
    const rt = await startRuntime({
      actor: name!,
      port: numberFlag(flags, 'port', { integer: true, min: 0, max: 65535 }) ?? actor.defaultPort,
      host: stringFlag(flags, 'host'),
      metricsPort: numberFlag(flags, 'metrics-port', { integer: true, min: 0, max: 65535 }) ?? actor.defaultMetricsPort,
      natsUrl: stringFlag(flags, 'nats'),
      configPath: stringFlag(flags, 'config'),
      runId: stringFlag(flags, 'run'),
      workerId: stringFlag(flags, 'worker-id') ?? `${name}-${process.pid}`,
    });
    try {
      const mod = await actor.load();
      await mod.start(rt);
      const port = await rt.grpc.start();
      // The supervisor of a local run waits for this line.
      console.log(`READY ${name} grpc=${port} metrics=${rt.metricsPort} run=${rt.runId} pid=${process.pid}`);
    } catch (err) {
      await rt.stop();
      throw err;
    }
    const fatal = await Promise.race([
      new Promise<undefined>((resolve) => {
        const onSignal = () => resolve(undefined);
        process.once('SIGTERM', onSignal);
        process.once('SIGINT', onSignal);
      }),
      rt.failed,
    ]);
    rt.log('draining');
    await rt.stop();
    if (fatal) throw fatal; // exit 1 with the reason: a supervisor restarts the actor
    return 0;
  },
};
