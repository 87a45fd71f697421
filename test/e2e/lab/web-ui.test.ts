/**
 * The web UI in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core, no browser
 * download) against the real server and 3 lab nodes in the `system` deployment: a wrong token is refused
 * on the login form, the admin token logs in; Commit on the deployment page starts the converge and the
 * layer cake follows it live (cells seen in other states, no reload) until every cell is active
 * (test-artifacts/layer-cake.png); a node's page shows its node-roles active, a run's command and stdout tail,
 * follows one of them live (re-run on a broken node its row turns red, Retry brings it back, no reload) and
 * shows its checks passing; the role graph has one box per bound role and its edges; a node-role failing on
 * a broken node shows Retry, which converges it again once the node is fixed. Every response and page HTML is
 * written to test-artifacts/ui-captures.json (the secrets sweep reads it) and holds no token, key or BMC password.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { chromium, type Browser, type Page, type Response } from 'playwright-core';
import { UI_CSP } from '../../../core/ui';
import { requireLab } from '../../helpers/lab-e2e';
import { TEST_ADMIN_TOKEN } from '../../helpers/server';
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
