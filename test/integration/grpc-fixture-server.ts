// Child-process fixture: a verifier test service that drains on SIGTERM. Prints "LISTENING <port>" and
// "HOLD-STARTED" on stdout. Run: node --import tsx test/integration/grpc-fixture-server.ts
import { createGrpcServer } from '../../src/platform/grpc/index.ts';
import { addVerifierTestService } from './grpc-fixture-service.ts';

const server = createGrpcServer({
  name: 'verifier-fixture',
  host: '127.0.0.1',
  port: Number(process.env.PORT ?? 0),
  drainGraceMs: Number(process.env.DRAIN_GRACE_MS ?? 5000),
  drainDelayMs: Number(process.env.DRAIN_DELAY_MS ?? 0),
  handleSignals: true,
});
addVerifierTestService(server, { ticks: 0, abortedCalls: 0, onHoldStarted: () => process.stdout.write('HOLD-STARTED\n') });
const port = await server.start();
process.stdout.write(`LISTENING ${port}\n`);
