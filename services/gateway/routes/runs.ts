// /runs: start a run from a JSON run config, list runs, one run's state (with its workers), stop a run.
import { Hono } from 'hono';
import type { z } from 'zod';
import type { createRunResponse, runList, RunView } from '../api-schemas.ts';
import { readJsonBody } from '../http-boundary.ts';
import type { RunManager } from '../run-manager.ts';

export function runsRouter(runs: RunManager): Hono {
  const app = new Hono();
  app.post('/', async (c) => {
    const managed = await runs.create(await readJsonBody(c));
    const body: z.infer<typeof createRunResponse> = { runId: managed.controller.runId, state: managed.controller.status().state, spawnedActors: managed.actors !== undefined };
    return c.json(body, 201);
  });
  app.get('/', (c) => {
    const body: z.infer<typeof runList> = { runs: runs.list() };
    return c.json(body);
  });
  app.get('/:id', (c) => {
    const body: RunView = runs.view(c.req.param('id'));
    return c.json(body);
  });
  app.post('/:id/stop', async (c) => {
    const body: RunView = await runs.stop(c.req.param('id'));
    return c.json(body);
  });
  return app;
}
