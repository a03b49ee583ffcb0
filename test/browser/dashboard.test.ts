// The dashboard in a real browser (playwright-core + Debian chromium) during a short run started through the API:
// charts gain points live, a trace waterfall shows spans from several services, a screenshot lands in test-output/.
// Chromium: /usr/bin/chromium; the before hook installs Debian's package with apt-get when it is missing (root).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { smallRunConfig, startGatewayProcess, type GatewayProcess } from '../integration/gateway-process.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOT = path.resolve('test-output', 'dashboard.png');

function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

let gw: GatewayProcess;
let browser: Browser;
before(async () => {
  ensureChromium();
  gw = await startGatewayProcess();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});
after(async () => {
  await browser?.close();
  await gw?.stop();
});

test('dashboard: live charts, worker table, trace waterfall across services, screenshot', async () => {
  const runId = `dash-run-${process.pid}`;
  const res = await fetch(`${gw.url}/runs`, { method: 'POST', headers: { authorization: `Bearer ${gw.token}` }, body: JSON.stringify(smallRunConfig(runId, 6)) });
  assert.equal(res.status, 201, await res.clone().text());

  const page = await browser.newPage({ viewport: { width: 1400, height: 1500 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(gw.url);
  await page.waitForSelector(`#runs li[data-run="${runId}"].selected`);
  const points = () => page.$eval('svg[data-chart="reward"]', (el) => Number(el.getAttribute('data-points')));
  await page.waitForFunction(() => Number(document.querySelector('svg[data-chart="reward"]')?.getAttribute('data-points')) >= 1, null, { timeout: 90_000 });
  const first = await points();
  await page.waitForFunction((n) => Number(document.querySelector('svg[data-chart="reward"]')?.getAttribute('data-points')) > n, first, { timeout: 90_000 });
  assert.ok((await points()) > first, 'the reward chart gained a point from the SSE stream');
  for (const id of ['accuracy', 'reverse_kl', 'entropy', 'response_length', 'tokens_per_s', 'staleness', 'curriculum']) {
    assert.ok(await page.$eval(`svg[data-chart="${id}"]`, (el) => Number(el.getAttribute('data-points'))) >= 1, `${id} chart has points`);
  }
  const workers = await page.$$eval('#workers tbody tr', (rows) => rows.map((r) => r.children[0]?.textContent ?? ''));
  assert.deepEqual(workers.sort(), ['learner', 'rollout-1', 'teacher', 'verifier']);

  // A trajectory trace reaches the learner after a step; refresh until one spanning several services is listed.
  let traceItems = 0;
  for (let i = 0; i < 60 && traceItems === 0; i++) {
    await page.click('#refresh-traces');
    await page.waitForTimeout(500);
    traceItems = await page.$$eval('#trace-list li[data-trace]', (lis) => lis.filter((li) => /\b[4-9] svc\b/.test(li.textContent ?? '')).length);
  }
  assert.ok(traceItems > 0, 'a trace across 4+ services is listed');
  // No named helpers inside page functions: tsx would wrap them in a __name() the page does not have.
  const listed = await page.$$eval('#trace-list li[data-trace]', (lis) => lis.map((li) => [li.getAttribute('data-trace') ?? '', li.textContent ?? '']));
  const servicesOf = (text: string) => Number(/(\d+) svc/.exec(text)?.[1] ?? 0);
  const widest = listed.reduce((a, b) => (servicesOf(b[1]!) > servicesOf(a[1]!) ? b : a))[0];
  await page.click(`#trace-list li[data-trace="${widest}"]`);
  await page.waitForSelector('svg[data-waterfall]');
  const services = await page.$eval('svg[data-waterfall]', (el) => Number(el.getAttribute('data-services')));
  const rowServices = await page.$$eval('svg[data-waterfall] g.span-row', (gs) => [...new Set(gs.map((g) => g.getAttribute('data-service')))]);
  assert.ok(services >= 3, `waterfall shows ${services} services`);
  assert.equal(rowServices.length, services);
  const colours = await page.$$eval('svg[data-waterfall] g.span-row rect', (rs) => new Set(rs.map((r) => r.getAttribute('fill'))).size);
  assert.equal(colours, services, 'one colour per service');

  mkdirSync(path.dirname(SHOT), { recursive: true });
  await page.screenshot({ path: SHOT, fullPage: true });
  assert.ok(statSync(SHOT).size > 10_000);
  assert.deepEqual(pageErrors, []);
});
