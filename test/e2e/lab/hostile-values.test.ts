/**
 * The hostile-values acceptance test (lab issue; docs/security.md): every template the plugin registry
 * knows (every barclamp, every workload, the `test` fixture) is rendered with hostile strings in every
 * string leaf of its data — attrib values, node name and addresses, URLs, list items — bypassing attrib
 * validation on purpose (rendered directly through the registry's renderer), and the result is run on a
 * real lab node by its real consumer:
 *
 * - shell scripts (role script templates): uploaded and run with bash, as the jigs do;
 * - install artifacts (iPXE, preseed, kickstart, cloud-init, post-install.sh): served by a stand-in
 *   provisioner on the lab bridge to the lab's own installer (core/lab/pxe-install.cjs), run on the node
 *   exactly as a network boot runs it — it fetches the boot script for its MAC, parses the config as data,
 *   applies it, and runs the post-install commands (which fetch and run post-install.sh);
 * - JSON/YAML documents: parsed as their consumer would (YAML for cloud-init), values compared.
 *
 * Each run is sandboxed on the node (private mount and UTS namespace, tmpfs over /root, /etc/anneal and the
 * scratch HOME) so that what a template legitimately does cannot break the node. After each run: no
 * /tmp/pwned-* on the node (nor on the host), every /tmp/canary-<id> still there, and where a value lands
 * in a file, the file holds it literally.
 *
 * Separately: the shipped attrib schemas refuse every hostile value (validation at the edge), and the
 * provisioner's data builder refuses hostile install parameters that would reach formats without quoting.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { barclamps } from '../../../barclamps';
import type { InstallOs } from '../../../core/domain/installs';
import { AppError } from '../../../core/errors';
import { labDown, labNodeCredentials, labUp, type LabStatus } from '../../../core/lab';
import { silentLogger } from '../../../core/log';
import type { PluginManifest } from '../../../core/plugins/manifest';
import { loadRegistry } from '../../../core/plugins/registry';
import { artifactData } from '../../../core/provisioner/artifacts';
import { osCatalog } from '../../../core/provisioner/os-catalog';
import { workloads } from '../../../workloads';
import fixture from '../../fixtures/barclamps/test/manifest';
import {
  BUILDER_GUARDED_FIELDS,
  classifyTemplate,
  curlShim,
  DRIVER_SH,
  HOSTILE_VALUES,
  hostileAttribValue,
  hostileCopy,
  INSTALL_PARAM_FIELDS,
  leafId,
  registryTemplates,
  roleData,
  SANDBOX_SH,
  sampleInstall,
  stringLeaves,
  withInstallParam,
  type CaseResult,
  type HostileValue,
  type Leaf,
  type NodeCase,
  type TemplateEntry,
} from '../../helpers/hostile';
import { ed25519PublicKeyLine } from '../../helpers/ssh-keys';
import { requireLab } from '../../helpers/lab-e2e';

const shipped: PluginManifest[] = [...barclamps, ...workloads];
const registry = loadRegistry([...shipped, fixture]);
const KEYS = [ed25519PublicKeyLine('one@hostile'), ed25519PublicKeyLine('two@hostile')];
/** Values for wanted attribs without a default, and lists whose default is empty (so items get hostile values). */
const SAMPLES: Record<string, unknown> = {
  'anneal/admin-address': '10.231.0.1',
  'provisioner/authorized-keys': KEYS,
  'provisioner/packages': ['htop', 'jq'],
  'provisioner/network': { mode: 'static', prefix: 24, gateway: '10.231.0.1', nameservers: ['10.231.0.1'] },
  'test/fail': { roles: ['test-os'], times: 1 },
};
const BASELINE: HostileValue = { name: 'baseline (no hostile value)', make: () => '' };

/** One planned run: what it renders, what it expects. */
interface Planned {
  node: NodeCase;
  template: string;
  value: string;
  leaves: Leaf[];
  /** Problems with the result ([] = fine). */
  check(r: CaseResult): string[];
  /** install cases: what the stand-in provisioner serves. */
  serve?: { token: string; boot: string; artifacts: Record<string, string> };
}

const render = (e: Pick<TemplateEntry, 'path'>, data: object) => registry.renderer.renderFile(e.path, data);
const label = (e: TemplateEntry) => `${e.plugin}/${e.template}`;

function renderRejection(err: unknown, v: HostileValue): string | null {
  if (!(err instanceof AppError) || err.code !== 'ERR_TEMPLATE_RENDER') return `threw ${String(err)}`;
  if (v.name === 'NUL byte' && /shq: value contains a NUL byte/.test(err.message)) return null; // documented
  const hint = /missing value/.test(err.message)
    ? ' (rendered with data the test does not know: add it to EXTRA_ROLE_DATA in test/helpers/hostile.ts)'
    : '';
  return `ERR_TEMPLATE_RENDER that the test does not document: ${err.message.slice(0, 300)}${hint}`;
}

function ssh(key: string, ip: string, command: string, stdin?: string, stdout?: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const args = ['-i', key, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o',
      'ConnectTimeout=5', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', `root@${ip}`, command]; // prettier-ignore
    const child = spawn('ssh', args, { stdio: ['pipe', 'pipe', 'inherit'] });
    if (stdin) createReadStream(stdin).pipe(child.stdin);
    else child.stdin.end();
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (stdout) writeFileSync(stdout, Buffer.concat(chunks));
      resolve(code);
    });
  });
}

function run(cmd: string, args: string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'inherit' });
    child.on('error', reject);
    child.on('close', resolve);
  });
}

describe('e2e: hostile values in every shipped template, run on a lab node', function () {
  this.timeout(300_000);
  const name = `h${randomBytes(2).toString('hex')}`;
  const local = mkdtempSync(path.join(tmpdir(), 'anneal-hostile-'));
  let lab: LabStatus | undefined;
  let key: string;
  let server: Server | undefined;
  let origin: string;
  const entries = registryTemplates(registry);
  const planned: Planned[] = [];
  /** Served per MAC: the case the node selected before starting its installer. */
  const selected = new Map<string, Planned>();
  const byToken = new Map<string, Planned>();
  const completed = new Set<string>();
  const counts = { rendered: 0, run: 0, rejected: 0, parsed: 0, identical: 0 };
  const runTexts = new Set<string>();

  before(async function () {
    requireLab(this);
    lab = await labUp({ name, nodes: 2, annealUrl: null, log: silentLogger });
    key = (await labNodeCredentials({ name, node: 1 })).ssh.privateKeyPath;
    // The stand-in provisioner: serves each install case's rendered artifacts to the lab installer.
    server = createServer((req, res) => {
      const url = req.url ?? '';
      const reply = (status: number, body: string) => {
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(body);
      };
      let m = /^\/hv\/select\/([0-9a-f:]+)\/(\w+)$/.exec(url);
      if (m && req.method === 'POST') {
        const p = planned.find((x) => x.node.id === m![2]);
        if (!p?.serve) return reply(404, 'no such case');
        selected.set(m[1]!, p);
        return reply(200, 'ok');
      }
      m = /^\/provision\/boot\/([0-9a-f:]+)$/.exec(url);
      if (m) {
        const p = selected.get(m[1]!);
        return p?.serve ? reply(200, p.serve.boot) : reply(404, 'no case selected');
      }
      m = /^\/provision\/installs\/([0-9a-f]{64})\/(.+)$/.exec(url);
      const p = m ? byToken.get(m[1]!) : undefined;
      if (!m || !p?.serve) return reply(404, 'unknown token');
      if (m[2] === 'complete' && req.method === 'POST') {
        completed.add(p.node.id);
        return reply(200, '{"state":"complete"}');
      }
      const text = p.serve.artifacts[m[2]!];
      return text === undefined ? reply(404, 'no such artifact') : reply(200, text);
    });
    await new Promise<void>((resolve) => server!.listen(0, '10.231.0.1', resolve));
    origin = `http://10.231.0.1:${(server.address() as { port: number }).port}`;
  });

  after(async () => {
    if (server) {
      server.closeAllConnections();
      await new Promise((r) => server!.close(r));
    }
    if (lab) await labDown({ name });
    rmSync(local, { recursive: true, force: true });
  });

  it('knows how to render and run every template in the registry (barclamps, workloads, the test fixture)', () => {
    const unknown = entries
      .map((e) => ({ e, k: classifyTemplate(e) }))
      .filter((x) => x.k.kind === 'unknown')
      .map((x) => `${label(x.e)}: ${(x.k as { why: string }).why}`);
    expect(unknown, 'templates this test cannot render or run').to.deep.equal([]);
    // Every plugin's templates are found through the registry, shipped ones included.
    expect(entries.map(label)).to.include.members([
      'provisioner/boot.ipxe.hbs',
      'provisioner/post-install.sh.hbs',
      'test/test-remote.sh.hbs',
    ]);
  });

  it('the shipped attrib schemas refuse every hostile value (validation at the edge)', () => {
    const accepted: string[] = [];
    let tried = 0;
    for (const [attrib, a] of registry.attribs) {
      if (!shipped.some((p) => p.name === a.plugin)) continue;
      for (const base of [a.default, SAMPLES[attrib]].filter((v) => v !== undefined)) {
        for (const v of HOSTILE_VALUES) {
          const value = hostileAttribValue(base, v.make('edge'));
          if (JSON.stringify(value) === JSON.stringify(base)) continue; // carries no string (int, bool)
          tried++;
          if (registry.validateAttribValue(attrib, value).ok) accepted.push(`${attrib} accepts ${v.name}`);
        }
      }
    }
    console.log(`      ${tried} hostile attrib values refused by the shipped schemas`);
    expect(accepted).to.deep.equal([]);
    expect(tried).to.be.greaterThan(0);
  });

  it('renders every template with every hostile value and runs it on a lab node: nothing executes', async function () {
    if (!lab) this.skip();
    const problems: string[] = [];
    const macs = lab!.nodes.map((n) => n.macs[0]!);
    let seq = 0;
    const nextId = () => `c${(seq++).toString(36)}`;

    // ---- role scripts: roleTemplateData with hostile leaves, run with bash -------------------------------
    const scriptChecks: Record<string, (data: Record<string, unknown>, r: CaseResult, files: string[]) => string[]> = {
      'test/test-remote.sh.hbs': (data, r) => {
        const marker = (data.attribs as Record<string, string>)['test/marker']!;
        const got = r.files[0]?.toString('utf8');
        return r.rc === 0 && got === marker ? [] : [`rc ${r.rc}; /root/anneal-test.marker is not the literal value`];
      },
      'test/test-script.sh.hbs': (data, r) => {
        const marker = (data.attribs as Record<string, string>)['test/marker']!;
        const node = (data.node as { name: string }).name;
        // A name that is not one file name component cannot be written: the script fails, harmlessly.
        if (node.includes('/') || Buffer.byteLength(`${node}.marker`) > 255) return [];
        const got = r.files[0]?.toString('utf8');
        return r.rc === 0 && got === `${marker}\n` ? [] : [`rc ${r.rc}; out/<node>.marker is not the literal value`];
      },
    };
    const scriptCollect: Record<string, (data: Record<string, unknown>) => string[]> = {
      'test/test-remote.sh.hbs': () => ['/root/anneal-test.marker'],
      'test/test-script.sh.hbs': (data) => [`out/${(data.node as { name: string }).name}.marker`],
    };
    const baseOf = (e: TemplateEntry): object | null => {
      try {
        return roleData(registry, e, SAMPLES);
      } catch (err) {
        problems.push(`${label(e)}: ${err instanceof Error ? err.message : String(err)}`);
        return null;
      }
    };
    for (const e of entries.filter((x) => classifyTemplate(x).kind === 'role-script')) {
      const base = baseOf(e);
      if (!base) continue;
      for (const v of [BASELINE, ...HOSTILE_VALUES]) {
        const id = nextId();
        const { data, leaves } = v === BASELINE ? { data: base, leaves: [] } : hostileCopy(base, id, v.make);
        let script: string;
        try {
          script = render(e, data as object);
          counts.rendered++;
        } catch (err) {
          const why = renderRejection(err, v);
          if (why) problems.push(`${label(e)} × ${v.name}: ${why}`);
          else counts.rejected++;
          continue;
        }
        const d = data as Record<string, unknown>;
        planned.push({
          node: {
            id,
            kind: 'script',
            script,
            ids: leaves.map((l) => l.id),
            collect: scriptCollect[label(e)]?.(d) ?? [],
          },
          template: label(e),
          value: v.name,
          leaves,
          check: (r) => {
            const out = scriptChecks[label(e)]?.(d, r, []) ?? [];
            if (v === BASELINE && scriptChecks[label(e)] && r.rc !== 0)
              out.push(`baseline exited ${r.rc}: ${r.stderr}`);
            return out;
          },
        });
      }
    }

    // ---- role data documents (JSON/YAML): parsed, values compared ----------------------------------------
    for (const e of entries.filter((x) => classifyTemplate(x).kind === 'role-data')) {
      const base = baseOf(e);
      if (!base) continue;
      for (const v of HOSTILE_VALUES) {
        const { data, leaves } = hostileCopy(base, nextId(), v.make);
        problems.push(...parseLiterally(label(e), v, render(e, data as object), leaves));
      }
    }

    // ---- install artifacts: the provisioner's own data builder, hostile leaves, the lab installer -------
    const installCase = (
      os: InstallOs,
      what: string,
      value: HostileValue,
      build: (
        id: string,
        token: string,
      ) => { hostile: Record<string, string>; leaves: Leaf[]; base: object; data: object } | null,
      /** `data`: what the case's hostile template was rendered with. */
      check: (r: CaseResult, p: Planned, data: Record<string, unknown>) => string[],
    ) => {
      const id = nextId();
      const token = randomBytes(32).toString('hex');
      const built = build(id, token);
      if (!built) return;
      const baseData = built.base as Record<string, unknown>;
      const artifacts: Record<string, string> = {};
      for (const a of osCatalog[os].artifacts) artifacts[a] = built.hostile[a] ?? render(artifactEntry(a), baseData);
      const boot =
        built.hostile['boot.ipxe'] ?? built.hostile['local-boot.ipxe'] ?? render(artifactEntry('boot.ipxe'), baseData);
      const p: Planned = {
        node: {
          id,
          kind: 'install',
          mac: '',
          ids: built.leaves.map((l) => l.id),
          collect: ['/root/.ssh/authorized_keys', '/etc/anneal/install.json'],
        },
        template: what,
        value: value.name,
        leaves: built.leaves,
        serve: { token, boot, artifacts },
        check: (r) => {
          const out = check(r, p, built.data as Record<string, unknown>);
          if (r.rc !== 0 && r.rc !== 1)
            out.push(`the installer exited ${r.rc} (neither installed nor refused): ${r.stderr.slice(-300)}`);
          return out;
        },
      };
      byToken.set(token, p);
      planned.push(p);
    };
    const artifactEntry = (name: string) =>
      entries.find((x) => x.role === 'provisioner-service' && x.template === `${name}.hbs`)!;
    const lines = (keys: string[]) => keys.map((k) => `${k}\n`).join('');

    for (const e of entries) {
      const k = classifyTemplate(e);
      if (k.kind !== 'install-artifact') continue;
      for (const os of k.oses) {
        for (const v of [BASELINE, ...HOSTILE_VALUES]) {
          if (v === BASELINE && k.name !== 'post-install.sh') continue; // one baseline per OS
          const what = `${label(e)} (${os})`;
          installCase(
            os,
            what,
            v,
            (id, token) => {
              const base = artifactData(sampleInstall(os, KEYS), origin, token);
              // local-boot.ipxe is rendered with no data (core/services/provisioner.ts bootScript).
              const start = k.name === 'local-boot.ipxe' ? {} : base;
              const { data, leaves } = v === BASELINE ? { data: start, leaves: [] } : hostileCopy(start, id, v.make);
              let text: string;
              try {
                text = render(e, data as object);
                counts.rendered++;
              } catch (err) {
                const why = renderRejection(err, v);
                if (why) problems.push(`${what} × ${v.name}: ${why}`);
                else counts.rejected++;
                return null;
              }
              if (['user-data', 'meta-data', 'vendor-data'].includes(k.name)) {
                problems.push(...parseLiterally(what, v, text, leaves));
              }
              // A template that prints no value (local-boot.ipxe, vendor-data) renders the same text for
              // every value: run it once.
              if (runTexts.has(`${what}\0${text}`)) {
                counts.identical++;
                return null;
              }
              runTexts.add(`${what}\0${text}`);
              return { hostile: { [k.name]: text }, leaves, base, data: data as object };
            },
            (r, p, hostile) => {
              const out: string[] = [];
              if (k.name === 'post-install.sh') {
                // The config is the base one, so the installer gets to run the hostile post-install script.
                if (r.rc !== 0) out.push(`post-install run failed (rc ${r.rc}): ${r.stderr.slice(-300)}`);
                if (r.files[1]?.toString('utf8') !== `${hostile.installJson as string}\n`)
                  out.push('/etc/anneal/install.json does not hold the literal value');
                if (os === 'debian-12' && r.files[0]?.toString('utf8') !== lines(hostile.authorizedKeys as string[]))
                  out.push("root's authorized_keys does not hold the literal keys");
                const completeUrl = (hostile.urls as { complete: string }).complete;
                if (!r.curl.some((argv) => argv.at(-1) === completeUrl))
                  out.push('curl was not called with the literal callback URL');
                if (v === BASELINE && !completed.has(p.node.id))
                  out.push('the baseline install did not call back complete');
              }
              return out;
            },
          );
        }
      }
    }

    // ---- hostile install parameters through the real builder (artifacts.ts) ------------------------------
    let builderRefused = 0;
    for (const os of Object.keys(osCatalog) as InstallOs[]) {
      for (const v of HOSTILE_VALUES) {
        for (const field of [...INSTALL_PARAM_FIELDS, 'base URL']) {
          installCase(
            os,
            `provisioner builder: ${field} (${os})`,
            v,
            (id, token) => {
              const value = v.make(leafId(id, 0));
              const inst =
                field === 'base URL'
                  ? sampleInstall(os, KEYS)
                  : withInstallParam(sampleInstall(os, KEYS), field, value);
              let data: ReturnType<typeof artifactData>;
              try {
                data = artifactData(inst, field === 'base URL' ? value : origin, token);
              } catch (err) {
                const guarded = (BUILDER_GUARDED_FIELDS as readonly string[]).includes(field);
                if (!(err instanceof AppError) || err.code !== 'ERR_TEMPLATE_RENDER' || !guarded) {
                  problems.push(`builder × ${field} × ${v.name}: ${String(err)}`);
                } else builderRefused++;
                return null;
              }
              if ((BUILDER_GUARDED_FIELDS as readonly string[]).includes(field)) {
                problems.push(`builder × ${field} × ${v.name}: accepted a value for a format without quoting`);
                return null;
              }
              const hostile: Record<string, string> = {};
              try {
                hostile['boot.ipxe'] = render(artifactEntry('boot.ipxe'), data);
                for (const a of osCatalog[os].artifacts) hostile[a] = render(artifactEntry(a), data);
                counts.rendered += 1 + osCatalog[os].artifacts.length;
              } catch (err) {
                const why = renderRejection(err, v);
                if (why) problems.push(`builder × ${field} (${os}) × ${v.name}: ${why}`);
                else counts.rejected++;
                return null;
              }
              return { hostile, leaves: [{ path: field, id: leafId(id, 0), value }], base: data, data };
            },
            (r, p, data) => {
              // Debian: keys reach root only through post-install.sh, which must write them literally.
              const keys = data.authorizedKeys as string[];
              if (os === 'debian-12' && r.rc !== 0) return [`the install failed (rc ${r.rc}): ${r.stderr.slice(-300)}`];
              if (r.rc === 0 && r.files[0]?.toString('utf8') !== lines(keys))
                return ["root's authorized_keys does not hold the literal keys"];
              return [];
            },
          );
        }
      }
    }

    // ---- run: cases alternate between the nodes, one batch per node --------------------------------------
    planned.forEach((p, i) => {
      if (p.node.kind === 'install') p.node.mac = macs[i % macs.length]!;
    });
    const results = new Map<string, CaseResult>();
    const t0 = Date.now();
    await Promise.all(
      lab!.nodes.map(async (n, ni) => {
        const mine = planned.filter((_, i) => i % lab!.nodes.length === ni);
        const dir = path.join(local, `n${ni}`);
        mkdirSync(path.join(dir, 'cases'), { recursive: true });
        mkdirSync(path.join(dir, 'bin'));
        writeFileSync(path.join(dir, 'origin'), origin);
        writeFileSync(path.join(dir, 'driver.sh'), DRIVER_SH);
        writeFileSync(path.join(dir, 'sandbox.sh'), SANDBOX_SH);
        writeFileSync(path.join(dir, 'bin', 'curl'), curlShim(origin), { mode: 0o755 });
        writeFileSync(
          path.join(dir, 'pxe-install.cjs'),
          readFileSync(path.resolve(__dirname, '../../../core/lab/pxe-install.cjs')),
        );
        writeFileSync(path.join(dir, 'cases.list'), mine.map((p) => `${p.node.id}\n`).join(''));
        for (const p of mine) {
          const c = path.join(dir, 'cases', p.node.id);
          mkdirSync(c);
          writeFileSync(path.join(c, 'kind'), p.node.kind);
          if (p.node.script !== undefined) writeFileSync(path.join(c, 'script'), p.node.script);
          if (p.node.mac) writeFileSync(path.join(c, 'mac'), p.node.mac);
          writeFileSync(path.join(c, 'ids'), p.node.ids.map((x) => `${x}\n`).join(''));
          writeFileSync(path.join(c, 'collect'), p.node.collect.map((x) => `${x}\0`).join(''));
        }
        const tar = path.join(local, `n${ni}.tar`);
        expect(await run('tar', ['-cf', tar, '-C', dir, '.'])).to.equal(0);
        expect(
          await ssh(key, n.ip, 'rm -rf /tmp/hv && mkdir -p /tmp/hv/results && tar -xf - -C /tmp/hv', tar),
        ).to.equal(0);
        expect(await ssh(key, n.ip, 'bash /tmp/hv/driver.sh >/tmp/hv/driver.log 2>&1')).to.equal(0);
        const back = path.join(local, `n${ni}-results.tar`);
        expect(await ssh(key, n.ip, 'tar -cf - -C /tmp/hv/results .', undefined, back)).to.equal(0);
        const rdir = path.join(local, `n${ni}-results`);
        mkdirSync(rdir);
        expect(await run('tar', ['-xf', back, '-C', rdir])).to.equal(0);
        for (const p of mine) results.set(p.node.id, readResult(path.join(rdir, p.node.id), p.node.collect.length));
      }),
    );
    const ms = Date.now() - t0;

    // ---- verdicts ----------------------------------------------------------------------------------------
    const leafOf = new Map(planned.flatMap((p) => p.leaves.map((l) => [l.id, { p, l }] as const)));
    const blame = (file: string) => {
      const hit = leafOf.get(file.replace(/^.*(pwned|canary)-/, ''));
      return hit ? `${file}: ${hit.p.template} × ${hit.p.value}, leaf ${hit.l.path}` : file;
    };
    const pwned = new Set<string>();
    for (const p of planned) {
      const r = results.get(p.node.id);
      if (!r) {
        problems.push(`${p.template} × ${p.value}: no result`);
        continue;
      }
      counts.run++;
      r.pwned.forEach((f) => pwned.add(f));
      for (const c of r.canaryMissing) problems.push(`${p.template} × ${p.value}: canary deleted: ${blame(c)}`);
      if (r.sandboxRc !== 0 || r.rc === null)
        problems.push(`${p.template} × ${p.value}: the sandbox failed (${r.sandboxRc})`);
      else for (const x of p.check(r)) problems.push(`${p.template} × ${p.value}: ${x}`);
    }
    for (const f of pwned) problems.push(`executed on the node: ${blame(f)}`);
    for (const f of readdirSync('/tmp').filter((x) => x.startsWith('pwned-')))
      problems.push(`executed on the host: ${blame(f)}`);

    // ---- summary -----------------------------------------------------------------------------------------
    const installs = planned.filter((p) => p.node.kind === 'install');
    const accepted = installs.filter((p) => results.get(p.node.id)?.rc === 0).length;
    console.log(
      `      ${entries.length} templates × ${HOSTILE_VALUES.length} hostile values: ${counts.rendered} renders, ` +
        `${counts.rejected} documented render refusals (NUL for shq), ${builderRefused} refused by the builder, ` +
        `${counts.parsed} documents parsed, ${counts.identical} renders identical to one already run; ${counts.run} runs on ${lab!.nodes.length} nodes in ${(ms / 1000).toFixed(1)} s ` +
        `(${planned.length - installs.length} scripts, ${installs.length} installs: ${accepted} installed, ` +
        `${installs.length - accepted} refused by the installer)`,
    );
    const slowest = [
      ...planned.reduce(
        (m, p) => m.set(p.template, (m.get(p.template) ?? 0) + (results.get(p.node.id)?.ms ?? 0)),
        new Map<string, number>(),
      ),
    ]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([t, x]) => `${t} ${(x / 1000).toFixed(1)} s`);
    console.log(`      slowest (node time, all values): ${slowest.join(', ')}`);
    // Executions first: they are what this test is about.
    const rank = (x: string) => (/^executed/.test(x) ? 0 : /canary deleted/.test(x) ? 1 : 2);
    problems.sort((a, b) => rank(a) - rank(b));
    const shown = problems.slice(0, 60).map((x) => x.slice(0, 400));
    if (problems.length > 60) shown.push(`… and ${problems.length - 60} more`);
    expect(problems.length, `${problems.length} problems:\n${shown.join('\n')}`).to.equal(0);
    expect(counts.run).to.equal(planned.length);
  });

  /** A JSON/YAML document: parses as YAML (cloud-init's reading) and as JSON, each hostile leaf literally. */
  function parseLiterally(what: string, v: HostileValue, text: string, leaves: Leaf[]): string[] {
    counts.parsed++;
    const out: string[] = [];
    const body = text.startsWith('#cloud-config') ? text.slice(text.indexOf('\n') + 1) : text;
    for (const [how, parse] of [
      ['YAML', (t: string) => YAML.parse(t) as unknown],
      ['JSON', JSON.parse],
    ] as const) {
      let doc: unknown;
      try {
        doc = parse(how === 'YAML' ? text : body);
      } catch (err) {
        out.push(`${what} × ${v.name}: does not parse as ${how}: ${String(err).slice(0, 200)}`);
        continue;
      }
      const found = new Set(stringLeaves(doc));
      for (const l of leaves.filter((x) => text.includes(x.id) && !found.has(x.value))) {
        out.push(`${what} × ${v.name}: ${how} does not carry ${l.path} literally`);
      }
      const keys = objectKeys(doc);
      if (keys.some((k) => /pwned/.test(k))) {
        out.push(`${what} × ${v.name}: a value became a ${how} key`);
      }
    }
    return out;
  }

  function objectKeys(v: unknown, out: string[] = []): string[] {
    if (Array.isArray(v)) for (const item of v) objectKeys(item, out);
    else if (typeof v === 'object' && v !== null) {
      for (const [k, item] of Object.entries(v)) {
        out.push(k);
        objectKeys(item, out);
      }
    }
    return out;
  }

  function readResult(dir: string, collected: number): CaseResult {
    const read = (f: string) => {
      try {
        return readFileSync(path.join(dir, f), 'utf8');
      } catch {
        return '';
      }
    };
    const files = Array.from({ length: collected }, (_, i) => {
      try {
        return readFileSync(path.join(dir, 'files', String(i)));
      } catch {
        return null;
      }
    });
    let curl: string[][] = [];
    try {
      curl = readdirSync(path.join(dir, 'curl'))
        .sort((a, b) => Number(a) - Number(b))
        .map((f) =>
          readFileSync(path.join(dir, 'curl', f), 'utf8')
            .split('\0')
            .slice(0, -1),
        );
    } catch {
      curl = [];
    }
    const rc = read('rc').trim();
    return {
      rc: rc === '' ? null : Number(rc),
      sandboxRc: Number(read('sandbox-rc').trim() || '-1'),
      stdout: read('out'),
      stderr: read('err'),
      files,
      curl,
      canaryMissing: read('canary-missing').split('\n').filter(Boolean),
      pwned: read('pwned').split('\n').filter(Boolean),
      ms: Number(read('ms').trim() || '0'),
    };
  }
});
