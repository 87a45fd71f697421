/**
 * The `dns` barclamp (ready-state layer, docs/ready-state.md): `dns-service` runs anneal's own dnsmasq on
 * the admin host, listening only on `anneal/admin-address`, with an A and a PTR record for every node of
 * the deployment and round-robin names for services; `dns-client` points each node's resolver at it.
 *
 * Nodes joining later: dns-service reads the deployment's nodes from anneal (admin.deploymentNodes) each
 * time it runs, so bind dns-client on every node before the deployment's commit and dns-service runs
 * once with all of them. A node added after that is served once dns-service runs again (any change of a
 * dns/* attrib, or a redeploy); until then dns-client's check on every node fails for the missing name
 * and says so. docs/barclamps.md ("dns") has the details.
 */
import { z } from 'zod';
import { attr } from '../../core/plugins/attr';
import { defineBarclamp, type Action, type CheckAction, type CheckResult } from '../../core/plugins/manifest';
import { roleTemplateData } from '../../core/plugins/registry';
import { runTemplate, scriptAction } from '../../core/plugins/run-template';
import { shellQuote } from '../../core/templates/render';

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const FQDN = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

const ipv4 = z.string().regex(IPV4, 'expected an IPv4 address like 10.0.0.1');
const domainName = z.string().regex(FQDN, 'expected a lowercase DNS name like cluster.example.org');

/** One `address name` line of dnsmasq's hosts file: an A record and, for the first name of an address, its PTR. */
export interface HostRecord {
  address: string;
  name: string;
}

/**
 * The records dns-service serves, in this order: every node of the deployment (so a node's own name is
 * the PTR of its address), `dns/extra-records`, then the service names (`<label>.<dns/domain>`, one line
 * per address: round robin; an empty list means the admin address). Names are lowercased; a node whose
 * name is not a DNS name or that has no IPv4 address is skipped with a warning.
 */
export function hostRecords(
  nodes: ReadonlyArray<{ name: string; address: string | null }>,
  attribs: Readonly<Record<string, unknown>>,
  warn: (msg: string) => void = () => undefined,
): HostRecord[] {
  const out: HostRecord[] = [];
  for (const n of nodes) {
    const name = n.name.toLowerCase();
    if (!FQDN.test(name) || n.address === null || !IPV4.test(n.address)) {
      warn(`node ${JSON.stringify(n.name)} has no DNS-safe name or no IPv4 address: no record`);
      continue;
    }
    out.push({ address: n.address, name });
  }
  for (const r of attribs['dns/extra-records'] as HostRecord[]) out.push({ address: r.address, name: r.name });
  const admin = String(attribs['anneal/admin-address']);
  const domain = String(attribs['dns/domain']);
  for (const [label, addresses] of Object.entries(attribs['dns/service-names'] as Record<string, string[]>)) {
    for (const address of addresses.length ? addresses : [admin]) out.push({ address, name: `${label}.${domain}` });
  }
  return out;
}

/** dns-service: the deployment's nodes from anneal, rendered into the script as records. */
const serviceApply: Action = async (ctx) => {
  const records = hostRecords(await ctx.admin.deploymentNodes(), ctx.attribs, (m) => ctx.log.warn(m));
  return {
    done: true,
    output: await runTemplate(ctx, 'dns-service.sh.hbs', { data: { ...roleTemplateData(ctx), records } }),
  };
};

/**
 * dns-client's ready checks, read-only, through the node's configured resolver (dig without @server reads
 * /etc/resolv.conf; getent when dig is missing): resolv.conf names the service first, every node's FQDN
 * (its own included) resolves to its address, and the node's own address resolves back to its name.
 */
const clientCheck: CheckAction = async (ctx) => {
  const admin = String(ctx.attribs['anneal/admin-address']);
  const nodes = (await ctx.admin.deploymentNodes()).filter((n) => n.address !== null);
  const me = ctx.node.name.toLowerCase();
  const lines = [
    'first=$(awk \'$1 == "nameserver" { print $2; exit }\' /etc/resolv.conf 2>/dev/null)',
    'echo "nameserver ${first:-none}"',
    'if command -v dig >/dev/null; then q() { dig +short +time=2 +tries=1 "$@" 2>&1 | tr "\\n" " "; }; echo "tool dig"',
    'else q() { if [ "$1" = -x ]; then getent hosts "$2" | awk \'{print $2 "."}\'; else getent ahostsv4 "$1" | awk \'{print $1}\' | sort -u; fi | tr "\\n" " "; }; echo "tool getent"; fi',
    // In parallel, so a resolver that does not answer costs one timeout, not one per node; each line is
    // one write, so lines do not interleave.
    ...nodes.map((n, i) => `echo "A${i} $(q ${shellQuote(n.name.toLowerCase())})" &`),
    ...(ctx.node.address ? [`echo "PTR $(q -x ${shellQuote(ctx.node.address)})" &`] : []),
    'wait',
  ];
  const out = await ctx.exec.run(lines.join('\n'), { signal: ctx.signal, timeoutMs: 25_000 });
  const got = out.stdout.split('\n');
  const value = (prefix: string): string => {
    const line = got.find((l) => l.startsWith(`${prefix} `));
    return line === undefined ? '' : line.slice(prefix.length + 1).trim();
  };
  const results: CheckResult[] = [];
  const first = value('nameserver');
  results.push({
    name: `the resolver's first nameserver is the dns service ${admin}`,
    ok: first === admin,
    detail: `/etc/resolv.conf: first nameserver ${first}`,
    remediation: `re-run the dns-client node-role of ${ctx.node.name} (it writes /etc/resolv.conf)`,
  });
  nodes.forEach((n, i) => {
    const name = n.name.toLowerCase();
    const answer = value(`A${i}`);
    const addresses = answer.split(/\s+/).filter(Boolean);
    results.push({
      name: `${name} resolves to ${n.address}${name === me ? ' (its own name)' : ''}`,
      ok: addresses.length === 1 && addresses[0] === n.address,
      detail: `${value('tool')} ${name}: ${answer || 'no answer'}`,
      remediation:
        first === admin
          ? `the dns service has no current record for ${name}: re-run dns-service (POST /api/v2/node-roles/{id}/rerun; it reads the deployment's nodes when it runs), then check again`
          : `point the resolver at ${admin} first: re-run the dns-client node-role of ${ctx.node.name}`,
    });
  });
  if (ctx.node.address) {
    const ptr = value('PTR');
    results.push({
      name: `${ctx.node.address} resolves back to ${me}`,
      ok: ptr.split(/\s+/).includes(`${me}.`),
      detail: `${value('tool')} -x ${ctx.node.address}: ${ptr || 'no answer'}`,
      remediation: `the dns service has no PTR record for ${ctx.node.address}: re-run dns-service, then check again`,
    });
  }
  return results;
};

export default defineBarclamp({
  name: 'dns',
  version: '1.0.0',
  description: "Names: anneal's dnsmasq on the admin address with every node's A/PTR records, and node resolvers",
  dir: __dirname,
  attribs: {
    'dns/domain': attr.string({
      description:
        "The deployment's DNS domain: the service answers for it alone (never forwards it), service names live in it, and it is the nodes' search domain",
      pattern: FQDN,
      default: 'anneal.internal',
    }),
    'dns/forwarders': attr.list(ipv4, {
      description:
        'Upstream resolvers the dns service forwards other names to; empty: it answers only the names it knows (others are refused)',
      default: [],
    }),
    'dns/extra-records': attr.list(z.strictObject({ name: domainName, address: ipv4 }), {
      description:
        'More A records (and PTRs where the address has no node) served by the dns service: [{name, address}]',
      default: [],
    }),
    'dns/service-names': {
      description:
        'Round-robin service names: {label: [addresses]} serves <label>.<dns/domain> with one A record per address; an empty list means anneal/admin-address',
      schema: z.record(z.string().regex(LABEL, 'expected a lowercase DNS label like ntp'), z.array(ipv4)),
      default: { anneal: [], dns: [], ntp: [], proxy: [] },
    },
  },
  roles: {
    'dns-service': {
      description:
        "dnsmasq on anneal/admin-address serving every node's A/PTR records and the service names (its own instance under the admin host's service dir)",
      flags: ['service'],
      jig: 'local',
      // A node that joins gets its records before its dns-client runs.
      rerunOnNewChild: true,
      wants: ['anneal/admin-address', 'dns/domain', 'dns/forwarders', 'dns/extra-records', 'dns/service-names'],
      templates: ['dns-service.sh.hbs', 'dns-service-remove.sh.hbs'],
      actions: {
        apply: serviceApply,
        remove: scriptAction('dns-service-remove.sh.hbs'),
      },
    },
    'dns-client': {
      description: "The node's resolver pointed at the dns service; checks every node's name resolves",
      requires: ['dns-service'],
      // implicit: bound on the node that needs it, never borrowed from another node.
      flags: ['implicit'],
      jig: 'ssh',
      wants: ['anneal/admin-address', 'dns/domain'],
      templates: ['dns-client-remove.sh.hbs'],
      actions: { check: clientCheck, remove: scriptAction('dns-client-remove.sh.hbs') },
    },
  },
});
