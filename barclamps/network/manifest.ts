/**
 * The `network` barclamp (ready-state layer, docs/ready-state.md): `network-config` gives a node its
 * hostname, an /etc/hosts with every node of the deployment and the interface configuration of its IPAM
 * allocations (core/services/networks.ts; /api/v2/networks).
 *
 * - Hostname: the node's name is its FQDN; /etc/hostname and the running hostname are its short name on
 *   Debian and Ubuntu, the FQDN on RHEL-like systems. `hostname -f` answers the FQDN through /etc/hosts.
 * - /etc/hosts: one line per node, `<address> <fqdn> <short>`, where the address is the node's allocation
 *   on a network of category `admin` when it has one, else its management address.
 * - Interfaces: each allocation of the node on a network with an `interface` and a category other than
 *   `admin` (the management network is the installer's, never reconfigured live), with the network's
 *   VLAN as `<nic>.<vlan>`.
 *
 * IPAM changes do not re-run network-config by themselves: re-run the node-roles (or redeploy) after
 * allocating or releasing addresses. docs/barclamps.md ("network") lists what it writes and checks.
 */
import { AppError } from '../../core/errors';
import {
  defineBarclamp,
  type Action,
  type AllocationView,
  type CheckAction,
  type CheckResult,
  type RoleContext,
} from '../../core/plugins/manifest';
import { roleTemplateData } from '../../core/plugins/registry';
import { scriptAction } from '../../core/plugins/run-template';
import { shellQuote } from '../../core/templates/render';

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

export interface HostsLine {
  address: string;
  fqdn: string;
  short: string;
}

/** /etc/hosts entries: every node with a host-name-safe name and an IPv4 address (admin allocation first). */
export function hostsLines(
  nodes: ReadonlyArray<{ name: string; address: string | null }>,
  allocations: readonly AllocationView[],
  warn: (msg: string) => void = () => undefined,
): HostsLine[] {
  const out: HostsLine[] = [];
  for (const n of nodes) {
    const fqdn = n.name.toLowerCase();
    const admin = allocations.find((a) => a.node === n.name && a.category === 'admin');
    const address = admin?.address ?? n.address;
    if (!HOST_NAME.test(fqdn) || address === null || !IPV4.test(address)) {
      warn(`node ${JSON.stringify(n.name)} has no host-name-safe name or no IPv4 address: not in /etc/hosts`);
      continue;
    }
    out.push({ address, fqdn, short: fqdn.split('.')[0]! });
  }
  return out;
}

export interface InterfacePlan {
  /** The configured interface (`eth1`, or `eth1.100` with a VLAN). */
  nic: string;
  parent: string;
  vlan: number | null;
  address: string;
  prefix: number;
  network: string;
}

/** The node's allocations network-config configures: a network with an interface, not the admin one. */
export function interfacePlans(node: string, allocations: readonly AllocationView[]): InterfacePlan[] {
  return allocations
    .filter((a) => a.node === node && a.interface !== null && a.category !== 'admin')
    .map((a) => ({
      nic: a.vlan === null ? a.interface! : `${a.interface!}.${a.vlan}`,
      parent: a.interface!,
      vlan: a.vlan,
      address: a.address,
      prefix: a.prefix,
      network: a.network,
    }));
}

async function plan(ctx: RoleContext) {
  const allocations = await ctx.admin.deploymentAllocations();
  const nodes = await ctx.admin.deploymentNodes();
  return {
    hosts: hostsLines(nodes, allocations, (m) => ctx.log.warn(m)),
    interfaces: interfacePlans(ctx.node.name, allocations),
  };
}

const apply: Action = async (ctx) => {
  const { hosts, interfaces } = await plan(ctx);
  const data = {
    ...roleTemplateData(ctx),
    fqdn: ctx.node.name.toLowerCase(),
    mgmt: ctx.node.address ?? '',
    hosts: hosts.map((h) => [h.address, h.fqdn, ...(h.short === h.fqdn ? [] : [h.short])].join(' ')),
    nics: interfaces.map((i) => i.nic),
    parents: interfaces.map((i) => i.parent),
    vlans: interfaces.map((i) => (i.vlan === null ? '-' : String(i.vlan))),
    addresses: interfaces.map((i) => i.address),
    prefixes: interfaces.map((i) => String(i.prefix)),
    networks: interfaces.map((i) => i.network),
  };
  const output = await ctx.exec.run(ctx.render('network-config.sh.hbs', data), {
    signal: ctx.signal,
    timeoutMs: 60_000,
  });
  if (output.exitCode === 0) return { done: true, output };
  throw new AppError('ERR_COMMAND_FAILED', `network-config.sh.hbs exited ${output.exitCode} on ${ctx.node.name}`, {
    details: { exitCode: output.exitCode, stdoutTail: output.stdout, stderrTail: output.stderr },
  });
};

/**
 * Read-only checks: the hostname and `hostname -f`, /etc/hosts lists every node (address, FQDN and short
 * name on one line), and each allocated address is configured on its interface.
 */
const check: CheckAction = async (ctx) => {
  const { hosts, interfaces } = await plan(ctx);
  const node = ctx.node.name;
  const fqdn = node.toLowerCase();
  const lines = [
    'echo "hostname $(hostname)"',
    'echo "fqdn $(hostname -f 2>&1)"',
    'echo "os $(. /etc/os-release 2>/dev/null && echo "${ID:-} ${ID_LIKE:-}")"',
    'grep -v "^#" /etc/hosts 2>/dev/null | sed "s/^/hosts /" || true',
    ...interfaces.map(
      (i, n) => `echo "if${n} $(ip -4 -o addr show dev ${shellQuote(i.nic)} 2>&1 | awk '{ print $4 }' | tr '\\n' ' ')"`,
    ),
  ];
  const out = await ctx.exec.run(lines.join('\n'), { signal: ctx.signal, timeoutMs: 20_000 });
  const got = out.stdout.split('\n');
  const value = (p: string) => got.find((l) => l.startsWith(`${p} `))?.slice(p.length + 1) ?? '';
  const rhel = / (rhel|fedora|rocky|centos) /.test(` ${value('os')} `);
  const wantHost = rhel ? fqdn : fqdn.split('.')[0]!;
  const hostsFile = got.filter((l) => l.startsWith('hosts ')).map((l) => l.slice(6).trim().split(/\s+/));
  const results: CheckResult[] = [
    {
      name: `hostname is ${wantHost}`,
      ok: value('hostname') === wantHost,
      detail: `hostname: ${value('hostname')}`,
      remediation: `re-run the network-config node-role of ${node} (it sets /etc/hostname and the running hostname)`,
    },
    {
      name: `hostname -f is ${fqdn}`,
      ok: value('fqdn') === fqdn,
      detail: `hostname -f: ${value('fqdn')}`,
      remediation: `re-run the network-config node-role of ${node} (/etc/hosts maps its address to ${fqdn} first)`,
    },
  ];
  const missing = hosts.filter(
    (h) => !hostsFile.some((f) => f[0] === h.address && f[1] === h.fqdn && (h.short === h.fqdn || f.includes(h.short))),
  );
  results.push({
    name: `/etc/hosts lists every node of the deployment (${hosts.length})`,
    ok: missing.length === 0,
    detail: missing.length
      ? `missing: ${missing.map((h) => `${h.address} ${h.fqdn}`).join(', ')}`
      : `${hosts.length} node(s) listed`,
    remediation: `re-run the network-config node-role of ${node} (it writes /etc/hosts from the deployment's nodes and IPAM allocations)`,
  });
  interfaces.forEach((i, n) => {
    const have = value(`if${n}`).trim().split(/\s+/).filter(Boolean);
    const want = `${i.address}/${i.prefix}`;
    results.push({
      name: `${i.nic} has ${want} (network ${i.network})`,
      ok: have.includes(want),
      detail: `${i.nic}: ${have.join(' ') || 'no IPv4 address'}`,
      remediation: `re-run the network-config node-role of ${node} (it brings ${i.nic} up with its allocation); check that the node has the interface ${i.parent}`,
    });
  });
  return results;
};

export default defineBarclamp({
  name: 'network',
  version: '1.0.0',
  description: 'Networks: hostname, /etc/hosts of the deployment and interfaces from IPAM allocations',
  dir: __dirname,
  roles: {
    'network-config': {
      description:
        "The node's hostname, /etc/hosts with every node, and its IPAM allocations configured on their interfaces",
      // implicit: bound on the node that needs it, never borrowed from another node.
      flags: ['implicit'],
      jig: 'ssh',
      templates: ['network-config.sh.hbs', 'network-config-remove.sh.hbs'],
      actions: { apply, check, remove: scriptAction('network-config-remove.sh.hbs') },
    },
  },
});
