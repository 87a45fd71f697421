/**
 * The web UI in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core, no browser
 * download) against the real server and 3 lab nodes in the `system` deployment: a wrong token is refused
 * on the login form, the admin token logs in; Commit on the deployment page starts the converge and the
 * layer cake follows it live (cells seen in other states, no reload) until every cell is active
 * (test-artifacts/layer-cake.png); a node's page shows its node-roles active, a run's command and stdout tail,
 * follows one of them live (re-run on a broken node its row turns red, Retry brings it back, no reload) and
 * shows its checks passing; the role graph has one box per bound role and its edges; a node-role failing on
 * a broken node shows Retry, which converges it again once the node is fixed. Removing things, each confirmed in
 * a dialog naming what goes: Unbind on a node-role row; Delete deployment on a child deployment holding a node
 * (its node-roles seen removing while the node is unavailable, then the page says it is gone and the node is
 * back in system); a child with a child of its own refused with the API's reason in the banner; Move to… from
 * the node page back to system (the node converges there again); Retire cancelled. Every response and page HTML is
 * written to test-artifacts/ui-captures.json (the secrets sweep reads it) and holds no token, key or BMC password.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { chromium, type Browser, type Page, type Response } from 'playwright-core';
import { UI_CSP } from '../../../core/ui';
import { requireLab } from '../../helpers/lab-e2e';
import { TEST_ADMIN_TOKEN, waitFor } from '../../helpers/server';
import {
  CHROMIUM,
  CHROMIUM_ARGS,
  requireChromium,
  startUiLab,
  UI_CAPTURES,
  type UiCapture,
  type UiLab,
} from '../../helpers/ui-lab';

const NODES = 3;
const MILESTONES = 4;
const ARTIFACTS = path.dirname(UI_CAPTURES);

interface NodeRole {
  id: number;
  role: string;
  deployment: string;
  state: string;
}

interface Status {
  layers: string[];
  converged: boolean;
  nodes: { name: string; layers: Record<string, { state: string }>; nodeRoles: { id: number; role: string }[] }[];
}

/** The browser globals the page functions below use: they run in Chromium (this project has no DOM types). */
interface PageGlobals {
  document: {
    querySelectorAll(selector: string): ArrayLike<{ getAttribute(name: string): string | null }>;
    getElementById(id: string): unknown;
  };
  MutationObserver: new (callback: () => void) => { observe(target: unknown, options: object): void };
  seen: Set<string>;
  marker: string;
  rowStates: Record<string, string[]>;
}

/** In the page: true once the layer cake has at least `min` cells and every one is active. */
function allActive(min: number): boolean {
  const { document } = globalThis as unknown as PageGlobals;
  const cells = Array.from(document.querySelectorAll('#layer-cake [data-state]'));
  return cells.length >= min && cells.every((c) => c.getAttribute('data-state') === 'active');
}

/** In the page: records every state a layer-cake cell shows from now on, and a marker a reload would lose. */
function recordStates(): void {
  const g = globalThis as unknown as PageGlobals;
  g.seen = new Set();
  g.marker = 'no reload';
  // No named inner functions: tsx would wrap them in a helper the page does not have.
  new g.MutationObserver(() => {
    for (const c of Array.from(g.document.querySelectorAll('#layer-cake [data-state]')))
      g.seen.add(c.getAttribute('data-state')!);
  }).observe(g.document.getElementById('main'), { subtree: true, childList: true, attributes: true });
}

/** In the page: records every state each node-role row of the node page shows from now on, by node-role id. */
function recordRowStates(): void {
  const g = globalThis as unknown as PageGlobals;
  g.rowStates = {};
  g.marker = 'no reload';
  new g.MutationObserver(() => {
    for (const tr of Array.from(g.document.querySelectorAll('#node-roles tr[data-node-role]'))) {
      const states = (g.rowStates[tr.getAttribute('data-node-role')!] ??= []);
      const st = tr.getAttribute('data-state')!;
      if (states.at(-1) !== st) states.push(st);
    }
  }).observe(g.document.getElementById('main'), { subtree: true, childList: true, attributes: true });
}

/** In the page: true once node-role `id`'s row has shown a state other than active and shows active again. */
function rowCycled(id: number): boolean {
  const g = globalThis as unknown as PageGlobals;
  const states = g.rowStates[String(id)] ?? [];
  return states.some((st) => st !== 'active') && states.at(-1) === 'active';
}

function recorded(): { seen: string[]; marker: string } {
  const g = globalThis as unknown as PageGlobals;
  return { seen: [...g.seen].sort(), marker: g.marker };
}

describe('e2e: the web UI in headless Chromium follows a 3-node lab converge', function () {
  this.timeout(300_000);
  let ui: UiLab;
  let browser: Browser;
  let page: Page;
  const captures: UiCapture[] = [];
  const pending: Promise<void>[] = [];
  const problems: string[] = [];
  /** Strings no capture may contain (the tokens, key material, BMC passwords). */
  const secrets: string[] = [];
  const stream = new AbortController();
  let streamText: Promise<string> = Promise.resolve('');

  const status = () => ui.api<Status>('GET', '/deployments/system/status');
  const snapshot = async () => captures.push({ kind: 'html', url: page.url(), text: await page.content() });
  const capture = async (res: Response) => {
    const headers = res.headers();
    const contentType = headers['content-type'] ?? '';
    // An event stream ends only with the page; its content is captured by the test's own reader below.
    const text = contentType.startsWith('text/event-stream') ? '' : await res.text().catch(() => '');
    captures.push({ kind: 'response', url: res.url(), status: res.status(), contentType, headers, text });
  };

  // For the removal cases (unbind, delete a deployment, move and retire a node), each confirmed in a dialog first.
  const n2 = () => ui.lab.nodes[1]!.name;
  const nodeRoles = async (node: string) =>
    (await ui.api<{ items: NodeRole[] }>('GET', `/nodes/${node}/node-roles?limit=1000`)).items;
  const dialogText = async () => {
    await page.waitForSelector('#confirm-dialog[open]');
    return (await page.$$eval('#confirm-text p', (ps) => ps.map((p) => p.textContent))).join(' ');
  };
  const flash = async (kind: 'info' | 'error') => {
    await page.waitForSelector(`#flash.${kind}:not([hidden])`);
    return (await page.textContent('#flash'))!;
  };
  /**
   * A child deployment of system holding n2 with ready-node bound in it (its hardware-check comes along:
   * both left system with the unbind below), committed and converged (both roles are noops, so fast).
   */
  const tenantWithN2 = async (name: string) => {
    await ui.api('POST', '/deployments', { name, parent: 'system' });
    await ui.api('POST', `/nodes/${n2()}/move`, { deployment: name });
    await ui.api('POST', `/deployments/${name}/bind`, { role: 'ready-node', node: n2() });
    await ui.api('POST', `/deployments/${name}/commit`);
    await waitFor(
      async () => ((await ui.api<Status>('GET', `/deployments/${name}/status`)).converged ? true : undefined),
      {
        timeoutMs: 60_000,
        intervalMs: 200,
        describe: async () => JSON.stringify(await ui.api('GET', `/deployments/${name}/status`)),
      },
    );
    const held = (await nodeRoles(n2())).filter((nr) => nr.deployment === name).map((nr) => nr.role);
    expect(held.sort()).to.deep.equal(['hardware-check', 'ready-node']);
  };

  before(async function () {
    requireLab(this, ['chronyd', 'chronyc', 'dnsmasq', 'tinyproxy']);
    requireChromium(this);
    const t0 = Date.now();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    ui = await startUiLab({ prefix: 'w', nodes: NODES });
    console.log(`    lab of ${NODES}, server and browser up in ${Date.now() - t0} ms`);
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('response', (res) => void pending.push(capture(res)));
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content.Security.Policy/i.test(m.text())) problems.push(m.text());
    });
    // The same stream the page reads, for the captures (a page's streaming response has no body to read).
    streamText = fetch(`${ui.url}/api/v2/events/stream`, {
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
      signal: stream.signal,
    }).then(async (res) => {
      let text = '';
      const decoder = new TextDecoder();
      try {
        for await (const chunk of res.body!) text += decoder.decode(chunk as Uint8Array, { stream: true });
      } catch {
        /* aborted at the end */
      }
      return text;
    });
  });

  after(async () => {
    stream.abort();
    await browser?.close();
    await ui?.close();
  });

  it('refuses a wrong token on the login form with the reason, then logs in with the admin token', async () => {
    await page.goto(`${ui.url}/`);
    await page.waitForSelector('#login #token');
    expect(page.url()).to.equal(`${ui.url}/ui/#/login`);
    await page.fill('#token', `wrong-${randomBytes(8).toString('hex')}`);
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#login-error:not(:empty)');
    expect(await page.textContent('#login-error')).to.match(/^Token not accepted: .+/);
    expect(await page.evaluate("sessionStorage.getItem('anneal.token')")).to.equal(null);
    await snapshot();

    await page.fill('#token', TEST_ADMIN_TOKEN);
    await page.click('#login button[type=submit]');
    await page.waitForSelector('tr[data-deployment="system"]');
    expect(await page.textContent('#who')).to.equal('admin (admin)');
    expect(await page.isVisible('#logout')).to.equal(true);
    expect(await page.content()).to.not.include(TEST_ADMIN_TOKEN);
    await snapshot();
  });

  it('Commit starts the converge; the layer cake follows it live until every cell is active', async () => {
    await page.click('tr[data-deployment="system"] a');
    await page.waitForSelector('#layer-cake [data-state]');
    await page.waitForSelector('#live.live');
    const before = await page.$$eval('#layer-cake [data-state]', (cells) => cells.map((c) => c.getAttribute('data-state'))); // prettier-ignore
    expect(before.length).to.be.at.least(NODES * MILESTONES);
    expect([...new Set(before)]).to.deep.equal(['proposed']);
    await page.evaluate(recordStates);

    const t0 = Date.now();
    await page.click('#commit');
    await page.waitForFunction(allActive, NODES * MILESTONES, { timeout: 180_000, polling: 100 });
    const seen = await page.evaluate(recorded);
    console.log(`    converged in ${Date.now() - t0} ms; cell states seen on the way: ${seen.seen.join(', ')}`);
    expect(seen.marker).to.equal('no reload');
    expect(seen.seen.filter((st) => st !== 'active' && st !== 'proposed')).to.have.length.above(0);
    expect(await page.textContent('#totals')).to.include('converged');

    // The cake is the API's status, cell for cell.
    const st = await status();
    expect(st.converged).to.equal(true);
    const cells = await page.$$eval('#layer-cake [data-state]', (els) =>
      els.map((c) => `${c.getAttribute('data-node')}|${c.getAttribute('data-layer')}|${c.getAttribute('data-state')}`),
    );
    const expected = st.nodes.flatMap((n) => Object.entries(n.layers).map(([l, c]) => `${n.name}|${l}|${c.state}`));
    expect(cells.sort()).to.deep.equal(expected.sort());
    for (const n of ui.lab.nodes) {
      expect(cells.filter((c) => c.startsWith(`${n.name}|`))).to.have.length.at.least(MILESTONES);
    }

    mkdirSync(ARTIFACTS, { recursive: true });
    const png = path.join(ARTIFACTS, 'layer-cake.png');
    await page.screenshot({ path: png, fullPage: true });
    expect(statSync(png).size).to.be.above(10_000);
    await snapshot();
  });

  it("a node's page shows its node-roles all active, a run's command and stdout tail, follows a failing re-run live, and its checks passing", async () => {
    const node = ui.lab.nodes[0]!.name;
    await page.click(`#layer-cake a[href="#/nodes/${encodeURIComponent(node)}"]`);
    await page.waitForSelector('#node-roles tr[data-role]');
    const rows = await page.$$eval('#node-roles tr[data-role]', (trs) =>
      trs.map((tr) => `${tr.getAttribute('data-role')}=${tr.getAttribute('data-state')}`),
    );
    const nrs = await ui.api<{ items: { id: number; role: string; state: string }[] }>(
      'GET',
      `/nodes/${node}/node-roles?limit=1000`,
    );
    expect(rows.sort()).to.deep.equal(nrs.items.map((nr) => `${nr.role}=active`).sort());

    // The last run of the first node-role that printed something: the page shows its stdout tail.
    let shown: { role: string; stdout: string; command: string | null } | undefined;
    for (const nr of nrs.items) {
      const runs = await ui.api<{ items: { stdoutTail: string; command: string | null }[] }>(
        'GET',
        `/node-roles/${nr.id}/runs?limit=1000`,
      );
      const last = runs.items.at(-1);
      if (last?.stdoutTail.trim()) {
        shown = { role: nr.role, stdout: last.stdoutTail, command: last.command };
        break;
      }
    }
    expect(shown, 'a run with output').to.not.equal(undefined);
    const row = `#node-roles tr[data-role="${shown!.role}"]`;
    await page.click(`${row} button.runs`);
    await page.waitForSelector(`${row} + tr.runs-row .run pre.stdout`);
    expect(await page.textContent(`${row} + tr.runs-row .run pre.stdout`)).to.equal(shown!.stdout);
    expect(shown!.command).to.match(/^bash \S+ on .+$/);
    expect(await page.textContent(`${row} + tr.runs-row .run .command`)).to.equal(shown!.command);

    // Live, no reload: network-config re-run through the API on a broken node (a directory where it writes
    // /etc/hostname, as below) turns its row red with Retry; once fixed, the page's Retry brings it back. A
    // plain re-run can finish between two polls of the event feed, so its row would never show it.
    const nc = nrs.items.find((nr) => nr.role === 'network-config')!;
    const ncRow = `#node-roles tr[data-node-role="${nc.id}"]`;
    await page.waitForSelector('#live.live');
    await page.evaluate(recordRowStates);
    ui.sh(ui.lab.nodes[0]!.ip, 'mkdir /etc/hostname.anneal-new');
    const t0 = Date.now();
    await ui.api('POST', `/node-roles/${nc.id}/rerun`);
    await page.waitForSelector(`${ncRow}[data-state="error"] button.retry`, { timeout: 30_000 });
    const failed = Date.now() - t0;
    ui.sh(ui.lab.nodes[0]!.ip, 'rmdir /etc/hostname.anneal-new');
    await page.click(`${ncRow} button.retry`);
    await page.waitForFunction(rowCycled, nc.id, { timeout: 30_000, polling: 50 });
    const { states, marker } = await page.evaluate(
      (id) => ({ states: (globalThis as unknown as PageGlobals).rowStates[String(id)], marker: (globalThis as unknown as PageGlobals).marker }), // prettier-ignore
      nc.id,
    );
    console.log(`    node page: error shown ${failed} ms after the rerun, active again after ${Date.now() - t0} ms: ${states!.join(' → ')}`); // prettier-ignore
    expect(marker).to.equal('no reload');
    expect(await ui.api('GET', `/node-roles/${nc.id}`)).to.include({ state: 'active', attempts: 0 });

    await page.click('#run-checks');
    await page.waitForSelector('#checks-summary');
    expect(await page.textContent('#checks-summary')).to.match(/^[1-9]\d* passed, 0 failed$/);
    expect(await page.$$eval('#checks-summary + table tr[data-ok="false"]', (trs) => trs.length)).to.equal(0);
    expect(await page.textContent('#power-state')).to.match(/^(on|off|unknown) /);
    await page.screenshot({ path: path.join(ARTIFACTS, 'node.png'), fullPage: true });
    await snapshot();
  });

  it('the role graph has one box per role bound in the deployment, with their edges', async () => {
    await page.click('a[href="#/deployments/system"]');
    await page.waitForSelector('svg.role-graph g.role');
    const bound = [...new Set((await status()).nodes.flatMap((n) => n.nodeRoles.map((nr) => nr.role)))].sort();
    const boxes = await page.$$eval(
      'svg.role-graph g.role',
      (gs) =>
      gs.map((g) => ({ role: g.getAttribute('data-role'), rects: g.querySelectorAll('rect').length, state: g.getAttribute('data-state') })), // prettier-ignore
    );
    expect(boxes.map((b) => b.role).sort()).to.deep.equal(bound);
    for (const b of boxes) expect(b, b.role!).to.include({ rects: 1, state: 'active' });
    const edges = await page.$$eval('svg.role-graph path.edge', (ps) =>
      ps.map((p) => `${p.getAttribute('data-from')}>${p.getAttribute('data-to')}`),
    );
    expect(edges).to.include.members(['managed-node>hardware-configured', 'installed-node>ready-node']);
    console.log(`    role graph: ${boxes.length} roles, ${edges.length} edges`);
  });

  it('a node-role that fails on a broken node shows Retry; once the node is fixed, Retry converges it again', async () => {
    // A directory where network-config writes its new /etc/hostname: the script exits 1 (a terminal error).
    const n3 = ui.lab.nodes[2]!;
    const [nr] = (
      await ui.api<{ items: { id: number }[] }>(
        'GET',
        `/node-roles?deployment=system&node=${n3.name}&role=network-config`,
      )
    ).items;
    ui.sh(n3.ip, 'mkdir /etc/hostname.anneal-new');
    const t0 = Date.now();
    await ui.api('POST', `/node-roles/${nr!.id}/rerun`);
    const item = `ul.failing li[data-node-role="${nr!.id}"]`;
    await page.waitForSelector(`${item} button.retry`, { timeout: 60_000 });
    console.log(`    Retry shown ${Date.now() - t0} ms after the rerun`);
    const text = await page.textContent(item);
    expect(text).to.include(n3.name).and.to.include('network-config').and.to.include('ERR_COMMAND_FAILED');
    expect(await page.$$eval(`#layer-cake [data-node="${n3.name}"][data-state="error"]`, (c) => c.length)).to.equal(1);
    await snapshot();
    await page.screenshot({ path: path.join(ARTIFACTS, 'layer-cake-error.png'), fullPage: true });

    ui.sh(n3.ip, 'rmdir /etc/hostname.anneal-new');
    await page.click(`${item} button.retry`);
    await page.waitForFunction(allActive, NODES * MILESTONES, { timeout: 60_000, polling: 100 });
    expect(await page.$$eval('ul.failing li', (lis) => lis.length)).to.equal(0);
    expect(await ui.api('GET', `/node-roles/${nr!.id}`)).to.include({ state: 'active', attempts: 0 });
    await snapshot();
  });

  it('a read-only token sees the deployment, Commit says what its role cannot do; revoked, it is back at the login', async () => {
    const viewer = await ui.api<{ token: string }>('POST', '/tokens', { name: 'ui-viewer', role: 'read-only' });
    secrets.push(viewer.token);
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    try {
      const p2 = await context.newPage();
      p2.on('response', (res) => void pending.push(capture(res)));
      // A deep link before logging in: the login comes first, then the page asked for.
      await p2.goto(`${ui.url}/ui/#/deployments/system`);
      await p2.waitForSelector('#login #token');
      await p2.fill('#token', viewer.token);
      await p2.click('#login button[type=submit]');
      await p2.waitForSelector('#layer-cake [data-state]');
      expect(p2.url()).to.equal(`${ui.url}/ui/#/deployments/system`);
      expect(await p2.textContent('#who')).to.equal('ui-viewer (read-only)');
      await p2.click('#commit');
      await p2.waitForSelector('#flash.error:not([hidden])');
      expect(await p2.textContent('#flash')).to.match(/^your token \(role read-only\) cannot do this: /);
      captures.push({ kind: 'html', url: p2.url(), text: await p2.content() });

      // The next request the page makes gets a 401: its own live refresh (the revocation is an event) or Commit.
      await ui.api('DELETE', '/tokens/ui-viewer');
      await p2.click('#commit', { timeout: 2_000 }).catch(() => undefined);
      await p2.waitForSelector('#login-error:not(:empty)');
      expect(p2.url()).to.equal(`${ui.url}/ui/#/login`);
      expect(await p2.textContent('#login-error')).to.match(/^Please log in again: /);
      expect(await p2.evaluate("sessionStorage.getItem('anneal.token')")).to.equal(null);
    } finally {
      await context.close();
    }
  });

  it('Unbind on a node-role row names the role and what requires it on the node; they go', async () => {
    await page.goto(`${ui.url}/ui/#/nodes/${n2()}`);
    const row = '#node-roles tr[data-role="hardware-check"]';
    await page.waitForSelector(`${row}[data-deployment="system"] button.unbind`);
    await page.click(`${row} button.unbind`);
    const text = await dialogText();
    expect(text).to.include(`Unbind hardware-check from ${n2()} in system: node-role hardware-check and what requires it on ${n2()} (ready-node) are removed`); // prettier-ignore
    // Cancel sends nothing.
    await page.click('#confirm-cancel');
    await page.waitForSelector('#confirm-dialog', { state: 'detached' });
    expect((await nodeRoles(n2())).map((nr) => nr.role)).to.include('hardware-check');

    await page.click(`${row} button.unbind`);
    await dialogText();
    await page.click('#confirm-ok');
    expect(await flash('info')).to.match(new RegExp(`^Unbinding hardware-check from ${n2()}: removing node-roles \\d+, \\d+\\.$`)); // prettier-ignore
    await page.waitForFunction(
      () => !(globalThis as unknown as PageGlobals).document.querySelectorAll('#node-roles tr[data-role="hardware-check"], #node-roles tr[data-role="ready-node"]').length, // prettier-ignore
      undefined,
      { timeout: 30_000, polling: 100 },
    );
    const left = (await nodeRoles(n2())).map((nr) => nr.role);
    expect(left).to.not.include('hardware-check').and.to.not.include('ready-node');
    expect(left).to.include('network-config');
  });

  it('Delete deployment asks first naming what goes, shows its node-roles removing, then that it is gone; API errors show in the banner', async () => {
    // A deployment with a child cannot be deleted: the API's reason shows in the banner.
    await ui.api('POST', '/deployments', { name: 'outer', parent: 'system' });
    await ui.api('POST', '/deployments', { name: 'inner', parent: 'outer' });
    await page.goto(`${ui.url}/ui/#/deployments/outer`);
    await page.waitForSelector('#delete-deployment');
    await page.click('#delete-deployment');
    expect(await dialogText()).to.include('Delete deployment outer: it has no node-roles');
    await page.click('#confirm-ok');
    expect(await flash('error')).to.equal('ERR_STATE_INVALID: deployment outer has child deployments (inner): delete them first'); // prettier-ignore
    await ui.api('DELETE', '/deployments/inner');
    await ui.api('DELETE', '/deployments/outer');

    await tenantWithN2('tenant');
    // Removals wait while the node is unavailable: the page shows them removing, whatever its speed.
    await ui.api('PATCH', `/nodes/${n2()}`, { available: false });
    await page.goto(`${ui.url}/ui/#/deployments/tenant`);
    await page.waitForSelector('#layer-cake [data-state="active"]');
    await page.click('#delete-deployment');
    expect(await dialogText()).to.equal(
      'Delete deployment tenant: its 2 node-roles on 1 node are removed (their remove actions run, what depends on them first), then the deployment. ' +
        `Its 1 node (${n2()}) goes back to system. This cannot be undone.`,
    );
    expect(await page.isChecked('#confirm-force')).to.equal(false);
    await page.click('#confirm-ok');
    expect(await flash('info')).to.match(/^Deleting tenant: removing node-roles \d+, \d+\.$/);
    await page.waitForSelector('#layer-cake [data-state="removing"]', { timeout: 30_000 });
    expect(await page.textContent('#totals')).to.include('2 removing');
    expect(await ui.api('GET', '/deployments/tenant')).to.deep.include({ state: 'deleting' });
    const states = (await nodeRoles(n2())).filter((nr) => nr.deployment === 'tenant').map((nr) => nr.state);
    expect(states).to.deep.equal(['removing', 'removing']);
    await page.screenshot({ path: path.join(ARTIFACTS, 'deployment-deleting.png'), fullPage: true });
    await snapshot();

    await ui.api('PATCH', `/nodes/${n2()}`, { available: true });
    await page.waitForSelector('#deployment-gone', { timeout: 60_000 });
    expect(await page.textContent('#deployment-gone')).to.include('Deployment tenant is deleted; its nodes went back to system.'); // prettier-ignore
    const gone = await ui.api('GET', '/deployments/tenant').catch((err: { status?: number }) => err.status);
    expect(gone).to.equal(404);
    const system = await ui.api<{ id: number }>('GET', '/deployments/system');
    expect(await ui.api('GET', `/nodes/${n2()}`)).to.deep.include({ deploymentId: system.id });
    expect((await nodeRoles(n2())).map((nr) => nr.deployment)).to.not.include('tenant');
  });

  it('Move to… on the node page names the node-roles it removes; the node is back in system and its cake whole again; Retire asks first', async () => {
    await tenantWithN2('tenant2');
    await page.goto(`${ui.url}/ui/#/nodes/${n2()}`);
    await page.waitForSelector('#node-deployment a[href="#/deployments/tenant2"]');
    await page.waitForSelector('#node-roles tr[data-role="ready-node"][data-deployment="tenant2"]');
    await page.click('#move');
    await dialogText();
    await page.selectOption('#move-to', 'system');
    expect(await dialogText()).to.equal(
      `Move ${n2()} from tenant2 to system: its 2 node-roles (hardware-check, ready-node in tenant2) are removed (their remove actions run, what depends on them first), then system's roles are bound on it.`, // prettier-ignore
    );
    await page.click('#confirm-ok');
    expect(await flash('info')).to.match(new RegExp(`^${n2()}: moving from tenant2 to system: removing node-roles \\d+, \\d+`)); // prettier-ignore
    await page.waitForSelector('#node-deployment a[href="#/deployments/system"]');
    // Once the removals finish, system's roles are bound on it again (system is committed) and converge.
    for (const role of ['hardware-check', 'ready-node'])
      await page.waitForSelector(`#node-roles tr[data-role="${role}"][data-deployment="system"][data-state="active"]`, { timeout: 60_000 }); // prettier-ignore
    const system = await ui.api<{ id: number }>('GET', '/deployments/system');
    expect(await ui.api('GET', `/nodes/${n2()}`)).to.deep.include({ deploymentId: system.id });
    const after = await nodeRoles(n2());
    expect([...new Set(after.map((nr) => `${nr.deployment}/${nr.state}`))]).to.deep.equal(['system/active']);

    // Retire: the dialog names the node and its node-roles; Cancel leaves it as it is.
    await page.click('#retire');
    expect(await dialogText()).to.include(`Retire ${n2()}: its ${after.length} node-roles (`).and.to.include('This cannot be undone.'); // prettier-ignore
    await page.click('#confirm-cancel');
    await page.waitForSelector('#confirm-dialog', { state: 'detached' });
    expect(await ui.api('GET', `/nodes/${n2()}`)).to.deep.include({ state: 'committed' });
    await snapshot();

    await page.goto(`${ui.url}/ui/#/deployments/system`);
    await page.waitForFunction(allActive, NODES * MILESTONES, { timeout: 60_000, polling: 100 });
    expect(await page.$('#delete-deployment')).to.equal(null);
    await ui.api('DELETE', '/deployments/tenant2');
    const gone = await ui.api('GET', '/deployments/tenant2').catch((err: { status?: number }) => err.status);
    expect(gone).to.equal(404);
  });

  it('every response and page the browser saw is captured, without the token, a private key or a BMC password', async () => {
    stream.abort();
    captures.push({ kind: 'stream', url: `${ui.url}/api/v2/events/stream`, text: await streamText });
    await Promise.all(pending);
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(UI_CAPTURES, JSON.stringify(captures, null, 1));
    const kinds = captures.map((c) => c.kind);
    console.log(
      `    captures: ${kinds.filter((k) => k === 'response').length} responses, ` +
        `${kinds.filter((k) => k === 'html').length} pages, stream ${captures.at(-1)!.text.length} bytes`,
    );
    expect(kinds.filter((k) => k === 'html')).to.have.length.at.least(5);
    secrets.push(TEST_ADMIN_TOKEN, 'PRIVATE KEY', ...ui.bmcPasswords);
    for (const c of captures) {
      const all = `${JSON.stringify(c.headers ?? {})}\n${c.text}`;
      for (const secret of secrets) expect(all.includes(secret), `${c.kind} ${c.url} shows a secret`).to.equal(false);
    }
    const index = captures.find((c) => c.kind === 'response' && c.url === `${ui.url}/ui/`)!;
    expect(index.headers).to.include({ 'content-security-policy': UI_CSP, 'cache-control': 'no-cache' });
    expect(problems).to.deep.equal([]);
  });
});
