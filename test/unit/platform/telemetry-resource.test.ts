// The process's resource from OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES: parsed as the specification says,
// malformed lists refused by name, and the names reach the spans a service writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RlmeshError } from '../../../src/errors.ts';
import { initTelemetry, readSpanFile, withSpan } from '../../../src/platform/telemetry/index.ts';
import { resourceAttributesFromEnv } from '../../../src/platform/telemetry/resource.ts';

test('OTEL_RESOURCE_ATTRIBUTES is parsed into key/value pairs with percent-decoding; OTEL_SERVICE_NAME wins for service.name', () => {
  assert.deepEqual(resourceAttributesFromEnv({}), {});
  assert.deepEqual(resourceAttributesFromEnv({ OTEL_RESOURCE_ATTRIBUTES: 'a=b,' }), { a: 'b' }, 'a trailing comma (templated values) is fine');
  assert.deepEqual(
    resourceAttributesFromEnv({ OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod, k8s.pod.name=rollout-7f%2C2 ,service.name=from-list' }),
    { 'deployment.environment': 'prod', 'k8s.pod.name': 'rollout-7f,2', 'service.name': 'from-list' },
  );
  assert.deepEqual(
    resourceAttributesFromEnv({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-list', OTEL_SERVICE_NAME: ' rlmesh-rollout-gpu ' }),
    { 'service.name': 'rlmesh-rollout-gpu' },
  );
});

test('a malformed OTEL_RESOURCE_ATTRIBUTES is refused naming the variable and the entry', () => {
  const refused = (raw: string, message: RegExp) => assert.throws(
    () => resourceAttributesFromEnv({ OTEL_RESOURCE_ATTRIBUTES: raw }),
    (e: unknown) => e instanceof RlmeshError && e.field === 'OTEL_RESOURCE_ATTRIBUTES' && message.test(e.message),
  );
  refused('region', /got 'region'/);
  refused('a=1,=2', /got '=2'/);
  refused('a=%E0%A4%A', /'a' is not valid percent-encoding/);
});

test('the spans a service writes carry OTEL_SERVICE_NAME and the deployment attributes; its own attributes stay its own', async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'rlmesh-res-')), 'spans.jsonl');
  const env = { OTEL_SERVICE_NAME: 'rlmesh-rollout-gpu', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=staging,rlmesh.run_id=spoofed' };
  const tel = initTelemetry({ serviceName: 'rlmesh-rollout', runId: 'run-r', spanFile: file, env });
  await withSpan('rollout.generate', {}, async () => undefined);
  await tel.shutdown();
  assert.equal(tel.resource['deployment.environment'], 'staging');
  assert.equal(tel.resource['rlmesh.run_id'], 'run-r');
  const [span] = readSpanFile(file);
  assert.equal(span!.serviceName, 'rlmesh-rollout-gpu');
  assert.match(span!.serviceInstanceId, /^rlmesh-rollout-gpu-\d+-/);
});
