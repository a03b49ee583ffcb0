// Prometheus metrics of the gateway's HTTP API: requests by route and status, runs by state.
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { RunManager } from './run-manager.ts';

export function httpMetrics(registry: Registry, runs: RunManager): MiddlewareHandler {
  const requests = new Counter({ name: 'rlmesh_gateway_http_requests_total', help: 'HTTP requests', labelNames: ['method', 'route', 'status'], registers: [registry] });
  new Gauge({
    name: 'rlmesh_gateway_runs', help: 'runs known to the gateway by state', labelNames: ['state'], registers: [registry],
    collect() {
      this.reset();
      for (const r of runs.list()) this.inc({ state: r.state });
    },
  });
  return async function countRequests(c, next) {
    await next();
    requests.inc({ method: c.req.method, route: routePath(c, -1) || 'unmatched', status: String(c.res.status) });
  };
}
