/**
 * The `ssh-access` barclamp (ready-state layer, docs/ready-state.md): who may log in to a node as root,
 * and how nodes of a deployment recognise each other.
 *
 * - `ssh-access` (cluster): root's authorized_keys is anneal's managed key (always first: anneal never
 *   locks itself out) plus `ssh-access/authorized-keys`, written only when it differs; the host keys
 *   sshd serves are recorded as the node attrib `ssh-access/host-keys`.
 * - `ssh-known-hosts` requires `ssh-access`: /etc/ssh/ssh_known_hosts with every node's name, short name
 *   and address and its recorded host keys.
 *
 * Ordering and nodes joining: `ssh-access` is a `cluster` role, so every ssh-access node-role of the
 * deployment is a parent of every ssh-known-hosts node-role. known_hosts is written on each node only
 * after every node has recorded its keys, and a node whose ssh-access is bound later becomes a parent of
 * the existing ssh-known-hosts node-roles, which run again with its keys (core/services/binding.ts). A
 * reinstalled node records new keys when its ssh-access runs again, and its descendants — every node's
 * ssh-known-hosts — run again after it. Bind `ssh-access` on every node explicitly (a cluster role is
 * not bound implicitly on a node when other members exist), then `ssh-known-hosts`.
 */
import { z } from 'zod';
import { AppError } from '../../core/errors';
import { attr } from '../../core/plugins/attr';
import {
  defineBarclamp,
  type Action,
  type CheckAction,
  type CheckResult,
  type RoleContext,
} from '../../core/plugins/manifest';
import { roleTemplateData } from '../../core/plugins/registry';
import { runTemplate, scriptAction } from '../../core/plugins/run-template';
import { authorizedKey } from '../provisioner/schemas';

const HOST_KEY =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,2}$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** `<type> <base64>` of a host key (no comment). */
const hostKey = z.string().regex(HOST_KEY, 'expected "<type> <base64>" of an SSH host public key');

/** `<type> <base64>` of a key line, for comparing keys whatever their comments. */
const keyId = (line: string) => line.trim().split(/\s+/).slice(0, 2).join(' ');

/** anneal's key first, then the attrib's keys not already listed (same type and data). */
async function keysFor(ctx: RoleContext): Promise<string[]> {
  const managed = await ctx.admin.managedPublicKey();
  if (!managed) {
    throw new AppError(
      'ERR_COMMAND_FAILED',
      `anneal has no managed SSH key to authorize on ${ctx.node.name}: start it with ANNEAL_SSH_KEY`,
    );
  }
  const out = [managed.trim()];
  for (const k of ctx.attribs['ssh-access/authorized-keys'] as string[]) {
    if (!out.some((o) => keyId(o) === keyId(k))) out.push(k);
  }
  return out;
}

const accessApply: Action = async (ctx) => {
  const output = await runTemplate(ctx, 'ssh-access.sh.hbs', {
    data: { ...roleTemplateData(ctx), keys: await keysFor(ctx) },
  });
  const keys = output.stdout
    .split('\n')
    .filter((l) => l.startsWith('hostkey '))
    .map((l) => l.slice('hostkey '.length).trim());
  const bad = keys.filter((k) => !HOST_KEY.test(k));
  if (keys.length === 0 || bad.length) {
    throw new AppError('ERR_COMMAND_FAILED', `ssh-access found no usable host keys on ${ctx.node.name}`, {
      details: { bad, stdoutTail: output.stdout },
    });
  }
  await ctx.admin.recordAttribs({ 'ssh-access/host-keys': [...new Set(keys)].sort() });
  return { done: true, output };
};

/** One known_hosts line per recorded key of each node: `<fqdn>,<short>,<address> <type> <base64>`. */
export function knownHostsLines(
  nodes: ReadonlyArray<{ name: string; address: string | null; value: unknown }>,
  warn: (msg: string) => void = () => undefined,
): string[] {
  const lines: string[] = [];
  for (const n of nodes) {
    const name = n.name.toLowerCase();
    const keys = Array.isArray(n.value) ? n.value.filter((k): k is string => typeof k === 'string') : [];
    if (!HOST_NAME.test(name)) {
      warn(`node ${JSON.stringify(n.name)} has no host-name-safe name: left out of known_hosts`);
      continue;
    }
    const short = name.split('.')[0]!;
    const names = [...new Set([name, short, ...(n.address && IPV4.test(n.address) ? [n.address] : [])])];
    for (const k of keys) {
      if (HOST_KEY.test(k)) lines.push(`${names.join(',')} ${k}`);
      else warn(`node ${n.name}: recorded host key is not "<type> <base64>": left out`);
    }
  }
  return lines;
}

const knownHostsApply: Action = async (ctx) => {
  const recorded = await ctx.admin.deploymentAttrib('ssh-access/host-keys');
  const lines = knownHostsLines(recorded, (m) => ctx.log.warn(m));
  const missing = (await ctx.admin.deploymentNodes())
    .map((n) => n.name)
    .filter((name) => !recorded.some((r) => r.name === name));
  if (missing.length) ctx.log.warn(`no host keys recorded (yet) for ${missing.join(', ')}: bind ssh-access on them`);
  return {
    done: true,
    output: await runTemplate(ctx, 'ssh-known-hosts.sh.hbs', { data: { ...roleTemplateData(ctx), lines } }),
  };
};

/**
 * ssh-access's checks, read-only: the check itself runs over SSH with anneal's managed key, so answering
 * proves it works; authorized_keys holds the managed key and each of ssh-access/authorized-keys; the host
 * keys sshd serves are the recorded ones.
 */
const accessCheck: CheckAction = async (ctx) => {
  const node = ctx.node.name;
  const managed = (await ctx.admin.managedPublicKey()) ?? '';
  const wanted = await keysFor(ctx).catch(() => [] as string[]);
  const recorded = (await ctx.admin.deploymentAttrib('ssh-access/host-keys')).find((n) => n.name === node);
  const out = await ctx.exec.run(
    [
      'echo "user $(id -un)"',
      'home=$(getent passwd root | cut -d: -f6 || true); f=${home:-/root}/.ssh/authorized_keys',
      'echo "file $f $(stat -c %a "$f" 2>/dev/null || echo missing)"',
      'grep -v "^#" "$f" 2>/dev/null | sed "s/^/key /" || true',
      'sshd=$(command -v sshd || echo /usr/sbin/sshd)',
      '"$sshd" -T 2>/dev/null | awk \'$1 == "hostkey" { print $2 }\' | while read -r p; do [ -r "$p.pub" ] && { read -r t b _ <"$p.pub"; echo "hostkey $t $b"; }; done',
    ].join('\n'),
    { signal: ctx.signal, timeoutMs: 20_000 },
  );
  const lines = out.stdout.split('\n');
  const value = (p: string) => lines.filter((l) => l.startsWith(`${p} `)).map((l) => l.slice(p.length + 1).trim());
  const authorized = value('key').map(keyId);
  const served = [...new Set(value('hostkey'))].sort();
  const results: CheckResult[] = [
    {
      name: "SSH answers with anneal's managed key",
      ok: out.exitCode === 0 && value('user')[0] === 'root',
      detail: `logged in as ${value('user')[0] ?? '?'} (exit ${out.exitCode})`,
      remediation: `anneal could not run commands on ${node} as root with its key: check sshd and root's authorized_keys there, then re-run its ssh-access node-role`,
    },
    {
      name: "root's authorized_keys holds anneal's managed key",
      ok: managed !== '' && authorized.includes(keyId(managed)),
      detail: `${value('file')[0] ?? '?'}: ${authorized.length} key(s)`,
      remediation: `re-run the ssh-access node-role of ${node} (it writes root's authorized_keys with anneal's key first)`,
    },
  ];
  const extra = wanted.slice(1).filter((k) => !authorized.includes(keyId(k)));
  results.push({
    name: "root's authorized_keys holds every key of ssh-access/authorized-keys",
    ok: extra.length === 0,
    detail: extra.length ? `missing: ${extra.map((k) => k.slice(0, 40)).join('; ')}` : `${wanted.length - 1} key(s)`,
    remediation: `re-run the ssh-access node-role of ${node}`,
  });
  const want = ((recorded?.value as string[] | undefined) ?? []).slice().sort();
  results.push({
    name: 'the host keys sshd serves are the recorded ones',
    ok: want.length > 0 && JSON.stringify(want) === JSON.stringify(served),
    detail: `served: ${served.map((k) => k.split(' ')[0]).join(', ') || 'none'}; recorded: ${want.map((k) => k.split(' ')[0]).join(', ') || 'none'}`,
    remediation: `the node's host keys changed (reinstall?) or were never recorded: re-run the ssh-access node-role of ${node}; every node's ssh-known-hosts then runs again`,
  });
  return results;
};

/** ssh-known-hosts's check: /etc/ssh/ssh_known_hosts has each node's lines (every name and key recorded). */
const knownHostsCheck: CheckAction = async (ctx) => {
  const recorded = await ctx.admin.deploymentAttrib('ssh-access/host-keys');
  const nodes = await ctx.admin.deploymentNodes();
  const out = await ctx.exec.run('cat /etc/ssh/ssh_known_hosts 2>/dev/null || echo "# missing"', {
    signal: ctx.signal,
    timeoutMs: 20_000,
  });
  const have = new Set(out.stdout.split('\n').map((l) => l.trim()));
  return nodes.map((n): CheckResult => {
    const r = recorded.find((x) => x.name === n.name);
    const want = r ? knownHostsLines([r]) : [];
    const missing = want.filter((l) => !have.has(l));
    return {
      name: `/etc/ssh/ssh_known_hosts lists ${n.name}`,
      ok: want.length > 0 && missing.length === 0,
      detail: !r
        ? `no host keys recorded for ${n.name}`
        : missing.length
          ? `missing ${missing.length} of ${want.length} line(s), e.g. ${missing[0]!.slice(0, 80)}`
          : `${want.length} key(s)`,
      remediation: !r
        ? `bind ssh-access on ${n.name} (it records the node's host keys); every ssh-known-hosts runs again after it`
        : `re-run the ssh-known-hosts node-role of ${ctx.node.name}`,
    };
  });
};

export default defineBarclamp({
  name: 'ssh-access',
  version: '1.0.0',
  description: "SSH: root's authorized keys (anneal's key always) and a known_hosts of every node of the deployment",
  dir: __dirname,
  attribs: {
    'ssh-access/authorized-keys': attr.list(authorizedKey, {
      description:
        "OpenSSH public key lines authorized for root on the nodes, after anneal's own managed key (always there)",
      default: [],
    }),
    'ssh-access/host-keys': attr.list(hostKey, {
      description:
        'The host public keys ("<type> <base64>") sshd serves on the node, recorded by ssh-access; ssh-known-hosts lists them',
      default: [],
    }),
  },
  roles: {
    'ssh-access': {
      description:
        "root's authorized_keys (anneal's key first, then ssh-access/authorized-keys); records the node's host keys",
      // discovery: a deployment with anneal/discover binds it on every new node (a cluster role is not bound
      // implicitly where other members exist), so every node's keys reach every known_hosts.
      flags: ['cluster', 'discovery'],
      jig: 'ssh',
      wants: ['ssh-access/authorized-keys'],
      templates: ['ssh-access.sh.hbs', 'ssh-access-remove.sh.hbs'],
      actions: { apply: accessApply, check: accessCheck, remove: scriptAction('ssh-access-remove.sh.hbs') },
    },
    'ssh-known-hosts': {
      description: "/etc/ssh/ssh_known_hosts with every node's names, address and recorded host keys",
      requires: ['ssh-access'],
      // implicit: bound on the node that needs it, never borrowed from another node.
      flags: ['implicit'],
      jig: 'ssh',
      templates: ['ssh-known-hosts.sh.hbs', 'ssh-known-hosts-remove.sh.hbs'],
      actions: {
        apply: knownHostsApply,
        check: knownHostsCheck,
        remove: scriptAction('ssh-known-hosts-remove.sh.hbs'),
      },
    },
  },
});
