/**
 * Blueprints in the web UI, in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core, as
 * web-ui.test.ts) against the real server with the `test` fixture and 3 lab nodes, converged in `system` and
 * tagged through the API: the plan form (from the deployments list) shows a bad blueprint's code, message
 * and issues; a pasted blueprint plans as a diff (`+ bind …` lines), a placement table naming the lab nodes
 * and its runs with the destructive ones; a node's tags changed between Plan and Apply make Apply refused
 * with ERR_PLAN_STALE (nothing applied) and Plan again; Apply, confirmed in the dialog, creates the
 * deployment and its layer cake converges to all active; its Blueprint section shows the export as YAML
 * without node names; planning that export and the pasted blueprint again shows "No changes". No response
 * or page holds the token, a private key or a BMC password; the page logged no CSP violation.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { chromium, type Browser, type Page, type Response } from 'playwright-core';
import { stringify } from 'yaml';
import { requireLab } from '../../helpers/lab-e2e';
import { TEST_ADMIN_TOKEN, waitFor } from '../../helpers/server';
import { CHROMIUM, CHROMIUM_ARGS, requireChromium, startUiLab, UI_CAPTURES, type UiLab } from '../../helpers/ui-lab';

const NODES = 3;
const ARTIFACTS = path.dirname(UI_CAPTURES);

interface Status {
  converged: boolean;
  nodes: { name: string }[];
}

interface PlanBody {
  plan: { changes: number; placements: { node: string; group: string }[]; runs: { destructive: boolean }[] };
  text: string[];
}

/** The browser globals the page functions below use (this project has no DOM types). */
interface PageGlobals {
  document: { querySelectorAll(selector: string): ArrayLike<{ getAttribute(name: string): string | null }> };
}

/** In the page: true once the layer cake has at least `min` cells and every one is active. */
function allActive(min: number): boolean {
  const { document } = globalThis as unknown as PageGlobals;
  const cells = Array.from(document.querySelectorAll('#layer-cake [data-state]'));
  return cells.length >= min && cells.every((c) => c.getAttribute('data-state') === 'active');
}

/** Two members running test-cluster and test-workload (tag `cluster`), one worker with test-member. */
function blueprint(roles = ['test-cluster', 'test-workload']): string {
  return stringify({
    apiVersion: 'anneal/v1',
    kind: 'Blueprint',
    metadata: { name: 'tenant-ui' },
    spec: {
      deployment: { name: 'tenant', parent: 'system' },
      attribs: { 'test/marker': 'site' },
      groups: [
        { name: 'members', count: 2, select: { tags: ['cluster'] }, roles },
        { name: 'workers', count: 1, select: { tags: ['worker'] }, roles: ['test-member'] },
      ],
    },
  });
}

describe('e2e: blueprints in the web UI: plan a diff, apply it, follow the converge, export', function () {
  this.timeout(300_000);
  let ui: UiLab;
  let browser: Browser;
  let page: Page;
  const captures: { url: string; text: string }[] = [];
  const pending: Promise<void>[] = [];
  const problems: string[] = [];
  const names = () => ui.lab.nodes.map((n) => n.name);

  const capture = async (res: Response) => {
    const headers = res.headers();
    const text = (headers['content-type'] ?? '').startsWith('text/event-stream') ? '' : await res.text().catch(() => ''); // prettier-ignore
    captures.push({ url: res.url(), text: `${JSON.stringify(headers)}\n${text}` });
  };
  const snapshot = async () => captures.push({ url: page.url(), text: await page.content() });
  const texts = (selector: string) => page.$$eval(selector, (els) => els.map((e) => e.textContent ?? ''));
  const plan = () => ui.api<PlanBody>('POST', '/blueprints/plan', { blueprint: blueprint() });
  const planned = async () => {
    await page.click('#plan');
    await page.waitForSelector('#plan-result #plan-placement');
  };

  before(async function () {
    requireLab(this, ['chronyd', 'chronyc', 'dnsmasq', 'tinyproxy']);
    requireChromium(this);
    const t0 = Date.now();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    ui = await startUiLab({ prefix: 'b', nodes: NODES, env: { ANNEAL_FIXTURES: 'test' } });
    // The nodes ready in system (the blueprint's parent): its discovery roles converged.
    await ui.api('POST', '/deployments/system/commit');
    await waitFor(
      async () => ((await ui.api<Status>('GET', '/deployments/system/status')).converged ? true : undefined),
      { timeoutMs: 180_000, intervalMs: 250, describe: () => 'system did not converge' },
    );
    const tags = [['cluster'], ['cluster'], ['worker']];
    for (const [i, n] of names().entries()) await ui.api('PUT', `/nodes/${n}/tags`, { tags: tags[i] });
    console.log(`    lab of ${NODES} converged in system, tagged, browser up in ${Date.now() - t0} ms`);
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('response', (res) => void pending.push(capture(res)));
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content.Security.Policy/i.test(m.text())) problems.push(m.text());
    });
  });

  after(async () => {
    await browser?.close();
    await ui?.close();
  });

  it('the plan form, opened from the deployments list, shows a bad blueprint loaded from a file as code, message and issues', async () => {
    await page.goto(`${ui.url}/ui/#/`);
    await page.fill('#token', TEST_ADMIN_TOKEN);
    await page.click('#login button[type=submit]');
    await page.click('#plan-blueprint');
    await page.waitForSelector('#plan-form #blueprint-text');
    expect(page.url()).to.equal(`${ui.url}/ui/#/blueprints/plan`);
    expect(await page.isDisabled('#apply')).to.equal(true);

    const bad = blueprint(['test-cluster', 'test-nope']);
    await page.setInputFiles('#blueprint-file', { name: 'bad.yaml', mimeType: 'application/yaml', buffer: Buffer.from(bad) }); // prettier-ignore
    await page.waitForFunction((want) => (globalThis as unknown as { document: { getElementById(id: string): { value: string } } }).document.getElementById('blueprint-text').value === want, bad); // prettier-ignore
    await page.click('#plan');
    await page.waitForSelector('#plan-error');
    expect(await page.getAttribute('#plan-error', 'data-code')).to.equal('ERR_BLUEPRINT_INVALID');
    expect(await page.textContent('#plan-error p.error')).to.match(/^ERR_BLUEPRINT_INVALID: spec\.groups\[0\]\.roles\[1\]: no role "test-nope"/); // prettier-ignore
    const issues = await texts('#plan-error li');
    expect(issues).to.have.length.at.least(1);
    expect(issues[0]).to.match(/^spec\.groups\[0\]\.roles\[1\]: no role "test-nope"/);
    expect(await page.isDisabled('#apply')).to.equal(true);
    await snapshot();
  });

  it('a pasted blueprint plans as a diff, the placement of the lab nodes and its runs, destructive ones flagged', async () => {
    await page.fill('#blueprint-text', blueprint());
    await planned();
    const api = await plan();
    const diff = await page.$$eval('#plan-diff span', (ss) => ss.map((s) => `${s.getAttribute('data-kind')}|${s.textContent}`)); // prettier-ignore
    const kinds: Record<string, string> = { '+': 'add', '~': 'change', '-': 'remove' };
    expect(diff).to.deep.equal(api.text.filter((l) => /^[+~-] /.test(l)).map((l) => `${kinds[l[0]!]}|${l}`));
    expect(diff).to.include('add|+ create deployment tenant (under system)');
    expect(diff).to.include('add|+ set test/marker = "site"');
    const [n1, n2, n3] = names();
    for (const n of [n1, n2]) expect(diff).to.include(`add|+ bind test-workload on ${n}`);
    expect(diff).to.include(`add|+ bind test-member on ${n3}`);
    expect(diff).to.include('change|~ commit deployment tenant');

    const placement = await page.$$eval('#plan-placement tbody tr', (trs) => trs.map((tr) => `${tr.getAttribute('data-node')}|${tr.getAttribute('data-group')}|${tr.querySelectorAll('td')[2]!.textContent}`)); // prettier-ignore
    expect(placement).to.deep.equal([
      `${n1}|members|test-cluster, test-workload`,
      `${n2}|members|test-cluster, test-workload`,
      `${n3}|workers|test-member`,
    ]);
    const destructive = api.plan.runs.filter((r) => r.destructive).length;
    expect(destructive).to.be.above(0);
    expect(await page.textContent('#plan-runs')).to.equal(`Will run: ${api.plan.runs.length} node-roles · ${destructive} destructive`); // prettier-ignore
    expect(await texts('#plan-destructive li')).to.have.length(destructive);
    expect(await page.isEnabled('#apply')).to.equal(true);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'blueprint-plan.png'), fullPage: true });
    await snapshot();
  });

  it("a node's tags changed between Plan and Apply: Apply is refused with ERR_PLAN_STALE and nothing applied; Plan again", async () => {
    await ui.api('PUT', `/nodes/${names()[0]}/tags`, { tags: ['cluster', 'rack1'] });
    await page.click('#apply');
    await page.waitForSelector('#confirm-dialog[open]');
    const what = (await texts('#confirm-text p')).join(' ');
    expect(what).to.match(/^Apply blueprint tenant-ui to deployment tenant \(created under system\): \d+ binds, 0 unbinds, 3 joins, 0 leaves, 1 attrib, [1-9]\d* destructive runs\. Then tenant is committed and \d+ node-roles run\. Destructive: test-hardware on /); // prettier-ignore
    expect(await page.$('#confirm-force')).to.equal(null);
    await page.click('#confirm-ok');
    await page.waitForSelector('#plan-error[data-code="ERR_PLAN_STALE"]');
    expect(await page.textContent('#plan-error p.error')).to.match(/^ERR_PLAN_STALE: the saved plan is stale: the candidate nodes .* changed since it was made; nothing was applied/); // prettier-ignore
    expect(await page.isDisabled('#apply')).to.equal(true);
    const gone = await ui.api('GET', '/deployments/tenant').catch((err: { status?: number }) => err.status);
    expect(gone).to.equal(404);
    await snapshot();

    await page.click('#plan-again');
    await page.waitForSelector('#plan-result #plan-diff');
    expect(await page.$('#plan-error')).to.equal(null);
    expect(await page.isEnabled('#apply')).to.equal(true);
  });

  it('Apply, confirmed, creates the deployment; its layer cake follows the converge to all active; its Blueprint section shows YAML without node names', async () => {
    await page.click('#apply');
    await page.waitForSelector('#confirm-dialog[open]');
    const t0 = Date.now();
    await page.click('#confirm-ok');
    await page.waitForSelector('#layer-cake [data-state]');
    expect(page.url()).to.equal(`${ui.url}/ui/#/deployments/tenant`);
    expect(await page.textContent('#flash.info')).to.match(/^Applied blueprint tenant-ui to tenant: \d+ binds, 0 unbinds, 3 joins/); // prettier-ignore
    await page.waitForFunction(allActive, NODES, { timeout: 120_000, polling: 100 });
    console.log(`    tenant applied and converged in ${Date.now() - t0} ms`);
    const st = await ui.api<Status>('GET', '/deployments/tenant/status');
    expect(st.converged).to.equal(true);
    expect(await page.textContent('#totals')).to.include('converged');
    const rows = await page.$$eval('#layer-cake tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-node')));
    expect(rows).to.include.members(names());
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'blueprint-applied.png'), fullPage: true });

    await page.waitForSelector('#blueprint-yaml');
    const yaml = (await page.textContent('#blueprint-yaml'))!;
    const res = await fetch(`${ui.url}/api/v2/deployments/tenant/blueprint?format=yaml`, {
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    });
    expect(yaml).to.equal(await res.text());
    expect(yaml).to.include('kind: Blueprint').and.to.include('test-workload').and.to.include('name: tenant');
    for (const n of names()) expect(yaml, n).to.not.include(n);
    expect(await page.getAttribute('#blueprint-download', 'href')).to.match(/^blob:/);
    await snapshot();
  });

  it('planning the export, and the pasted blueprint, again shows "No changes"', async () => {
    await page.click('#blueprint-plan');
    await page.waitForFunction(() => Boolean((globalThis as unknown as { document: { getElementById(id: string): { value: string } } }).document.getElementById('blueprint-text').value)); // prettier-ignore
    expect(page.url()).to.equal(`${ui.url}/ui/#/deployments/tenant/plan`);
    await planned();
    expect(await page.textContent('#plan-none')).to.match(/^No changes: deployment tenant matches blueprint /);
    expect(await page.$('#plan-diff')).to.equal(null);
    expect(await page.isDisabled('#apply')).to.equal(true);

    await page.goto(`${ui.url}/ui/#/blueprints/plan`);
    await page.fill('#blueprint-text', blueprint());
    await planned();
    expect(await page.textContent('#plan-none')).to.equal('No changes: deployment tenant matches blueprint tenant-ui.'); // prettier-ignore
    expect(await page.isDisabled('#apply')).to.equal(true);
    expect((await plan()).plan.changes).to.equal(0);
    await snapshot();
  });

  it('no response or page held the token, a private key or a BMC password; no CSP violation', async () => {
    await Promise.all(pending);
    expect(captures.length).to.be.above(10);
    for (const c of captures)
      for (const secret of [TEST_ADMIN_TOKEN, 'PRIVATE KEY', ...ui.bmcPasswords])
        expect(c.text.includes(secret), `${c.url} shows a secret`).to.equal(false);
    expect(problems).to.deep.equal([]);
  });
});
