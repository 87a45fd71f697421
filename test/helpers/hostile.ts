/**
 * Pure helpers of the hostile-values acceptance test (test/e2e/lab/hostile-values.test.ts): the hostile
 * strings, the walk over every template the plugin registry knows, the data each kind of template is
 * rendered with, and the node-side scripts that run a batch of rendered templates in a sandbox.
 *
 * Adding a template: a role's default script template (`<role>.sh.hbs`) and any `*.sh.hbs` a role lists
 * are run with bash on a lab node, rendered with `roleTemplateData`; `*.json.hbs` / `*.yaml.hbs` /
 * `*.yml.hbs` are parsed. Anything else (a config file, a template rendered with other data) makes the
 * test fail until a handler is added here (see {@link classifyTemplate}) — no template escapes the test.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { InstallOs, InstallRecord } from '../../core/domain/installs';
import type { NodeView, PluginManifest } from '../../core/plugins/manifest';
import { roleTemplateData, type Registry } from '../../core/plugins/registry';
import { osCatalog } from '../../core/provisioner/os-catalog';

// ---- hostile values ---------------------------------------------------------------------------------

export interface HostileValue {
  /** Short label for the summary. */
  name: string;
  /** The value for one leaf; `id` names its evidence files (/tmp/pwned-<id>, /tmp/canary-<id>). */
  make(id: string): string;
}

export const HOSTILE_VALUES: readonly HostileValue[] = [
  { name: 'command substitution', make: (id) => `$(touch /tmp/pwned-${id})` },
  { name: 'backticks', make: (id) => `\`touch /tmp/pwned-${id}\`` },
  { name: 'single quotes', make: (id) => `'; touch /tmp/pwned-${id}; '` },
  { name: 'double quotes', make: (id) => `"; touch /tmp/pwned-${id}; "` },
  { name: 'newlines', make: (id) => `x\ntouch /tmp/pwned-${id}\n` },
  { name: 'rm -rf', make: (id) => `; rm -rf /tmp/canary-${id}` },
  { name: 'IFS', make: (id) => `\${IFS}touch\${IFS}/tmp/pwned-${id}` },
  { name: 'backslashes', make: (id) => `\\'\\"\\$(touch /tmp/pwned-${id})\\` },
  {
    name: '64 KiB',
    make: (id) => {
      const head = `$(touch /tmp/pwned-${id})'"\`;`;
      return head + 'A'.repeat(64 * 1024 - head.length);
    },
  },
  {
    name: 'unicode and control characters',
    make: (id) => `é\u202e\u2028\u0001\u0007\u001b[31m\u007f\u0085\u00a0\t\r🙂$(touch /tmp/pwned-${id})`,
  },
  { name: 'preseed line injection', make: (id) => `x\nd-i preseed/late_command string touch /tmp/pwned-${id}\n` },
  { name: 'kickstart section injection', make: (id) => `x\n%end\n%post\ntouch /tmp/pwned-${id}\n%end\n%packages\n` },
  {
    name: 'JSON and YAML injection',
    make: (id) =>
      `", "runcmd": [["touch", "/tmp/pwned-${id}"]], "x": "\n- touch /tmp/pwned-${id}\nruncmd: [[touch, /tmp/pwned-${id}]]`,
  },
  { name: 'NUL byte', make: (id) => `a\u0000$(touch /tmp/pwned-${id})` },
];

/**
 * Renders that may fail, and why (the only accepted render failures). The test checks the error is the
 * named helper's ERR_TEMPLATE_RENDER.
 */
export const DOCUMENTED_RENDER_REJECTIONS = {
  /** `shq` refuses NUL: no shell word, argument or file name can carry one. JSON templates carry it (\u0000). */
  nul: { value: 'NUL byte', message: /shq: value contains a NUL byte/ },
} as const;

/**
 * Install parameters that `core/provisioner/artifacts.ts` (the provisioner's real data builder) checks
 * with `wordSafe`, because they reach formats without quoting (iPXE lines, preseed values, kickstart
 * %packages): a hostile value there is refused with ERR_TEMPLATE_RENDER before any template renders.
 * Every other install parameter must pass the builder and be carried safely by the templates.
 */
export const BUILDER_GUARDED_FIELDS = [
  'hostname',
  'mac',
  'packages[0]',
  'network.address',
  'network.gateway',
  'network.nameservers[0]',
  'base URL',
] as const;

// ---- leaves -----------------------------------------------------------------------------------------

export interface Leaf {
  /** `a.b[2].c` */
  path: string;
  id: string;
  value: string;
}

/** The evidence id of leaf `n` of a case (no id is a prefix of another). */
export function leafId(caseId: string, n: number): string {
  return `${caseId}x${n}y`;
}

/**
 * Returns `base` with every string leaf replaced by `make(leafId(idPrefix, n))` (object keys stay), and the
 * leaves it made. Arrays, objects, numbers and booleans keep their shape.
 */
export function hostileCopy(
  base: unknown,
  idPrefix: string,
  make: (id: string) => string,
): { data: unknown; leaves: Leaf[] } {
  const leaves: Leaf[] = [];
  const walk = (v: unknown, at: string): unknown => {
    if (typeof v === 'string') {
      const id = leafId(idPrefix, leaves.length);
      const value = make(id);
      leaves.push({ path: at, id, value });
      return value;
    }
    if (Array.isArray(v)) return v.map((item, i) => walk(item, `${at}[${i}]`));
    if (typeof v === 'object' && v !== null) {
      return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item, at ? `${at}.${k}` : k)]));
    }
    return v;
  };
  return { data: walk(base, ''), leaves };
}

/** Every string leaf of `v` (for checking that a parsed document carries a value literally). */
export function stringLeaves(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const item of v) stringLeaves(item, out);
  else if (typeof v === 'object' && v !== null) for (const item of Object.values(v)) stringLeaves(item, out);
  return out;
}

/**
 * Hostile variants of an attrib value for the schema check: string leaves replaced, and an empty list
 * (or an empty list inside it) given one hostile item, so list attribs are tried with hostile items.
 */
export function hostileAttribValue(value: unknown, hostile: string): unknown {
  if (typeof value === 'string') return hostile;
  if (Array.isArray(value)) return value.length === 0 ? [hostile] : value.map((v) => hostileAttribValue(v, hostile));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, hostileAttribValue(v, hostile)]));
  }
  return value;
}

// ---- the templates the registry knows ---------------------------------------------------------------

export interface TemplateEntry {
  plugin: string;
  pluginKind: PluginManifest['kind'];
  /** The role that lists or owns it (null: a file in a templates directory that no role names). */
  role: string | null;
  /** Relative to the plugin's templates directory. */
  template: string;
  path: string;
  /** `script`: the role's default apply template; `listed`: in the role's `templates`; `unlisted`. */
  source: 'script' | 'listed' | 'unlisted';
}

function filesUnder(dir: string, rel = ''): string[] {
  let names: string[];
  try {
    names = readdirSync(path.join(dir, rel));
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const r = rel ? `${rel}/${n}` : n;
    return statSync(path.join(dir, r)).isDirectory() ? filesUnder(dir, r) : [r];
  });
}

/**
 * Every template of every plugin in the registry: each role's default script template and listed
 * templates, plus any file under a plugin's templates/ directory that no role names. One entry per file.
 */
export function registryTemplates(registry: Registry): TemplateEntry[] {
  const out = new Map<string, TemplateEntry>();
  for (const role of registry.rolesInOrder) {
    const plugin = registry.plugins.find((p) => p.name === role.plugin) as PluginManifest;
    const add = (template: string, source: TemplateEntry['source']) => {
      const full = registry.templatePath(role.name, template);
      if (!out.has(full))
        out.set(full, { plugin: plugin.name, pluginKind: plugin.kind, role: role.name, template, path: full, source });
    };
    if (role.scriptTemplate) add(role.scriptTemplate, 'script');
    for (const t of role.spec.templates ?? []) add(t, 'listed');
  }
  for (const plugin of registry.plugins) {
    const dir = path.resolve(plugin.dir, 'templates');
    for (const rel of filesUnder(dir)) {
      const full = path.join(dir, rel);
      if (!out.has(full)) {
        out.set(full, {
          plugin: plugin.name,
          pluginKind: plugin.kind,
          role: null,
          template: rel,
          path: full,
          source: 'unlisted',
        });
      }
    }
  }
  return [...out.values()].sort((a, b) => a.path.localeCompare(b.path));
}

/** How the test renders and runs a template. */
export type TemplateKind =
  /** A provisioner install artifact: data from artifacts.ts, run through the lab installer on a node. */
  | { kind: 'install-artifact'; name: string; oses: InstallOs[] }
  /** A shell script rendered with roleTemplateData, run with bash on a node. */
  | { kind: 'role-script' }
  /** A JSON or YAML document rendered with roleTemplateData, parsed. */
  | { kind: 'role-data'; format: 'json' | 'yaml' }
  | { kind: 'unknown'; why: string };

const PROVISIONER_ROLE = 'provisioner-service';

/** Which OSes serve a provisioner template (boot.ipxe: every OS; local-boot.ipxe: no install). */
function artifactOses(name: string): InstallOs[] {
  const all = Object.keys(osCatalog) as InstallOs[];
  if (name === 'boot.ipxe') return all;
  if (name === 'local-boot.ipxe') return all.slice(0, 1); // rendered with no data: one run covers it
  return all.filter((os) => osCatalog[os].artifacts.includes(name));
}

export function classifyTemplate(e: TemplateEntry): TemplateKind {
  if (e.source === 'unlisted') {
    return {
      kind: 'unknown',
      why: 'no role lists it, so it is not compiled at boot; list it in a role (templates or <role>.sh.hbs)',
    };
  }
  if (e.role === PROVISIONER_ROLE && e.template.endsWith('.hbs')) {
    const name = e.template.slice(0, -'.hbs'.length);
    const oses = artifactOses(name);
    if (oses.length > 0) return { kind: 'install-artifact', name, oses };
    return { kind: 'unknown', why: `a provisioner template that no OS serves as an artifact (os-catalog.ts)` };
  }
  if (e.source === 'script' || e.template.endsWith('.sh.hbs')) return { kind: 'role-script' };
  if (e.template.endsWith('.json.hbs')) return { kind: 'role-data', format: 'json' };
  if (/\.ya?ml\.hbs$/.test(e.template)) return { kind: 'role-data', format: 'yaml' };
  return {
    kind: 'unknown',
    why: 'the test does not know how to run this file or what data it is rendered with: add a handler in test/helpers/hostile.ts',
  };
}

// ---- data ------------------------------------------------------------------------------------------

/** A lab-like node as the annealer hands it to templates. */
export function sampleNode(): NodeView {
  return {
    id: 1,
    name: 'n1.hostile.lab',
    macs: ['52:54:00:aa:bb:01', '52:54:00:aa:bb:02'],
    bmcAddress: '127.0.0.1:9001',
    address: '10.231.0.11',
    admin: false,
    system: false,
    facts: { os: { name: 'debian-12', id: 'debian' } },
  };
}

/**
 * Templates an action renders with more than `roleTemplateData` (`ctx.render(template, data)`): the extra
 * data, as the action builds it, keyed `<plugin>/<template>`. A template rendered with data the test does
 * not know fails to render in strict mode, and the test reports it: add it here.
 */
export const EXTRA_ROLE_DATA: Record<string, (base: Record<string, unknown>) => Record<string, unknown>> = {
  /** barclamps/dns serviceApply: `{ ...roleTemplateData(ctx), records: hostRecords(...) }`. */
  /** barclamps/ssh-access accessApply: `{ ...roleTemplateData(ctx), keys: [managed key, ...ssh-access/authorized-keys] }`. */
  'ssh-access/ssh-access.sh.hbs': (base) => ({
    ...base,
    keys: [
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHhostilehostilehostilehostilehostilehost anneal@admin',
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHoperatoroperatoroperatoroperatoroperat operator',
    ],
  }),
  /** barclamps/ssh-access knownHostsApply: `{ ...roleTemplateData(ctx), lines: knownHostsLines(...) }`. */
  'ssh-access/ssh-known-hosts.sh.hbs': (base) => ({
    ...base,
    lines: [
      'n1.hostile.lab,n1,10.231.0.11 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHhostilehostilehostilehostilehostilehost',
    ],
  }),
  /** barclamps/network apply: hostname, /etc/hosts lines and the node's interfaces as parallel lists. */
  'network/network-config.sh.hbs': (base) => ({
    ...base,
    fqdn: 'n1.hostile.lab',
    mgmt: '10.231.0.11',
    hosts: ['10.231.0.11 n1.hostile.lab n1', '10.231.0.12 n2.hostile.lab n2'],
    nics: ['eth1'],
    parents: ['eth1'],
    vlans: ['-'],
    addresses: ['192.168.50.10'],
    prefixes: ['24'],
    networks: ['storage'],
  }),
  'dns/dns-service.sh.hbs': (base) => ({
    ...base,
    records: [
      { address: '10.231.0.11', name: 'n1.hostile.lab' },
      { address: '10.231.0.12', name: 'n2.hostile.lab' },
    ],
  }),
};

/**
 * Role template data as the annealer builds it (`roleTemplateData`), with each wanted attrib's default,
 * or a sample from `samples` (attribs without a default, and lists whose default is empty, so list items
 * get hostile values too), plus {@link EXTRA_ROLE_DATA}. Throws when a wanted attrib has neither.
 */
export function roleData(registry: Registry, e: TemplateEntry, samples: Record<string, unknown>): object {
  const role = e.role as string;
  const r = registry.role(role);
  const attribs: Record<string, unknown> = {};
  for (const name of r.wants) {
    const a = registry.attrib(name);
    const sample = samples[name];
    if (sample !== undefined) attribs[name] = sample;
    else if (a.hasDefault) attribs[name] = a.default;
    else throw new Error(`attrib ${name} (wanted by ${role}) has no default: add a sample in the hostile-values test`);
  }
  const base = roleTemplateData({ node: sampleNode(), role, deployment: 'hostile', attribs }) as unknown as Record<
    string,
    unknown
  >;
  const extra = EXTRA_ROLE_DATA[`${e.plugin}/${e.template}`];
  return extra ? extra(base) : base;
}

/** An install record for the provisioner's data builder, with a static network (every field in use). */
export function sampleInstall(os: InstallOs, keys: string[]): InstallRecord {
  return {
    id: 41,
    nodeId: 1,
    os,
    state: 'booted',
    params: {
      hostname: 'n1.hostile.lab',
      mac: '52:54:00:aa:bb:01',
      authorizedKeys: keys,
      packages: ['htop', 'jq'],
      network: {
        mode: 'static',
        address: '10.231.0.11',
        prefix: 24,
        gateway: '10.231.0.1',
        nameservers: ['10.231.0.1'],
      },
    },
    error: null,
    requestedBy: 'hostile-values',
    createdAt: 1,
    updatedAt: 1,
    bootedAt: 1,
    configFetchedAt: null,
    completedAt: null,
  };
}

/** Sets one install parameter (named as in {@link BUILDER_GUARDED_FIELDS}) of a copy of `inst`. */
export function withInstallParam(inst: InstallRecord, field: string, value: string): InstallRecord {
  const p = structuredClone(inst.params);
  const net = p.network as { address: string; gateway: string; nameservers: string[] };
  switch (field) {
    case 'hostname':
      p.hostname = value;
      break;
    case 'mac':
      p.mac = value;
      break;
    case 'authorizedKeys[0]':
      p.authorizedKeys[0] = value;
      break;
    case 'packages[0]':
      p.packages[0] = value;
      break;
    case 'network.address':
      net.address = value;
      break;
    case 'network.gateway':
      net.gateway = value;
      break;
    case 'network.nameservers[0]':
      net.nameservers[0] = value;
      break;
    default:
      throw new Error(`unknown install parameter ${field}`);
  }
  return { ...inst, params: p };
}

export const INSTALL_PARAM_FIELDS = [
  'hostname',
  'mac',
  'authorizedKeys[0]',
  'packages[0]',
  'network.address',
  'network.gateway',
  'network.nameservers[0]',
] as const;

// ---- cases and the node-side scripts ---------------------------------------------------------------

/** One run on a node. Files a case writes are uploaded under /tmp/hv/cases/<id>/. */
export interface NodeCase {
  id: string;
  kind: 'script' | 'install';
  /** script: the rendered script (run with bash). */
  script?: string;
  /** install: the boot NIC's MAC given to the installer. */
  mac?: string;
  /** Evidence ids (one per hostile leaf): canaries are created for them before the run. */
  ids: string[];
  /** Paths (absolute, or relative to the scratch HOME) copied back after the run, as files/<index>. */
  collect: string[];
}

/** What the driver writes back for a case. */
export interface CaseResult {
  /** Exit status of the script or installer (null when the sandbox itself failed). */
  rc: number | null;
  sandboxRc: number;
  stdout: string;
  stderr: string;
  /** Contents of `collect[i]`, or null when it did not exist. */
  files: (Buffer | null)[];
  /** argv of each curl call made in the sandbox. */
  curl: string[][];
  /** /tmp/canary-<id> files that were gone after the run. */
  canaryMissing: string[];
  /** /tmp/pwned-* files present after the run (anywhere in the batch so far). */
  pwned: string[];
  ms: number;
}

/**
 * The curl on the node during a run (bind-mounted over /usr/bin/curl in the sandbox): records its argv
 * NUL-separated under /run/hv/curl/, and runs the real curl only when an argument is a URL of the test's
 * provisioner (`origin`). Hostile URLs are therefore never fetched, and post-install's retry loop does
 * not wait a minute for a callback that cannot work.
 */
export function curlShim(origin: string): string {
  return `#!/bin/bash
# hostile-values test: record the call, run the real curl only for the test's own provisioner.
mkdir -p /run/hv/curl
n=$(ls /run/hv/curl | wc -l)
for a in "$@"; do printf '%s\\0' "$a"; done >"/run/hv/curl/$n"
for a in "$@"; do
  case $a in
    ${origin}/*) exec /tmp/hv/bin/curl.real "$@" ;;
  esac
done
exit 0
`;
}

/**
 * Runs one case inside a private mount and UTS namespace (`unshare -m -u`): a fresh tmpfs on /root,
 * /etc/anneal and /run/hv (scratch HOME and working directory), the curl shim over /usr/bin/curl. So
 * what the templates legitimately do (root's authorized_keys, hostname, files in HOME) does not break
 * the node, while /tmp stays the node's own, where the evidence files would appear.
 */
export const SANDBOX_SH = `#!/bin/bash
set -u
id=$1
d=/tmp/hv/cases/$id
o=/tmp/hv/results/$id
origin=$(cat /tmp/hv/origin)
mount -t tmpfs hv-root /root || exit 90
mkdir -p /etc/anneal && mount -t tmpfs hv-etc-anneal /etc/anneal || exit 91
mkdir -p /run/hv && mount -t tmpfs hv-run /run/hv || exit 92
mount --bind /tmp/hv/bin/curl /usr/bin/curl || exit 93
scratch=/run/hv/home
mkdir -p "$scratch/out"
cd "$scratch" || exit 94
if [ "$(cat "$d/kind")" = script ]; then
  HOME=$scratch ANNEAL_TEST_OUT=$scratch/out timeout -s KILL 20 bash "$d/script" </dev/null >"$o/out" 2>"$o/err"
else
  ANNEAL_PXE_INSTALL=1 timeout -s KILL 30 node - "$origin" "$(cat "$d/mac")" </tmp/hv/pxe-install.cjs >"$o/out" 2>"$o/err"
fi
echo $? >"$o/rc"
i=0
while IFS= read -r -d '' p; do
  if [ -f "$p" ]; then cp -- "$p" "$o/files/$i"; fi
  i=$((i + 1))
done <"$d/collect"
if [ -d /run/hv/curl ]; then cp -r /run/hv/curl "$o/curl"; fi
exit 0
`;

/** Runs every case listed in /tmp/hv/cases.list in order; results under /tmp/hv/results/<id>/. */
export const DRIVER_SH = `#!/bin/bash
set -u
origin=$(cat /tmp/hv/origin)
chmod 0755 /tmp/hv/bin/curl
cp /usr/bin/curl /tmp/hv/bin/curl.real
while IFS= read -r id; do
  d=/tmp/hv/cases/$id
  o=/tmp/hv/results/$id
  mkdir -p "$o/files"
  sed 's|^|/tmp/canary-|' "$d/ids" | xargs -r touch
  if [ -f "$d/mac" ]; then
    /tmp/hv/bin/curl.real -fsS -X POST -o /dev/null "$origin/hv/select/$(cat "$d/mac")/$id" || echo 'select failed' >"$o/error"
  fi
  t0=$(date +%s%N)
  unshare -m -u --propagation private bash /tmp/hv/sandbox.sh "$id" >"$o/sandbox.log" 2>&1
  echo $? >"$o/sandbox-rc"
  echo $((($(date +%s%N) - t0) / 1000000)) >"$o/ms"
  sed 's|^|/tmp/canary-|' "$d/ids" | while IFS= read -r c; do [ -e "$c" ] || echo "$c"; done >"$o/canary-missing"
  sed 's|^|/tmp/canary-|' "$d/ids" | xargs -r rm -f
  (cd /tmp && ls -1d pwned-* 2>/dev/null) >"$o/pwned"
done </tmp/hv/cases.list
echo done
`;
