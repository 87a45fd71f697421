/**
 * The lab network: one Linux bridge in the root namespace holding the host address (the lab subnet's .1,
 * 10.231.0.1/24 by default), one
 * veth pair per node (host side on the bridge, `eth0` inside the node's namespace) and a dummy (or ifb) `eth1`.
 * Nothing is routed off the bridge: an `ip rule` blackholes every packet that arrives on the bridge and is
 * not for the host itself, even if IP forwarding gets turned on later (by docker, for instance).
 * Functions here check the kernel's state first and only change what is missing (idempotent).
 */
import { existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bridgeMac, subnetPrefixLength } from './layout';
import { run } from './proc';
import type { LabRecord, NodeRecord } from './state';

/** What the network functions need to know of a lab. */
type LabNet = Pick<LabRecord, 'name' | 'bridge' | 'hostIp' | 'subnet'>;

/** Preference of the lab's forwarding guard rule (after the `local` table rule at 0). */
const GUARD_RULE_PREF = '100';

export function linkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

export function netnsExists(name: string): boolean {
  return existsSync(`/run/netns/${name}`);
}

/** True when the interface is administratively up (IFF_UP). */
export function linkIsUp(name: string): boolean {
  try {
    return (Number.parseInt(readFileSync(`/sys/class/net/${name}/flags`, 'utf8').trim(), 16) & 1) === 1;
  } catch {
    return false;
  }
}

export function linkMaster(name: string): string | null {
  try {
    return path.basename(readlinkSync(`/sys/class/net/${name}/master`));
  } catch {
    return null;
  }
}

/** Turns IPv6 off on a host interface (no router solicitations or MLD on the lab bridge). */
function quietIpv6(link: string): void {
  try {
    writeFileSync(`/proc/sys/net/ipv6/conf/${link}/disable_ipv6`, '1');
  } catch {
    /* IPv6 disabled on the host already */
  }
}

/** Creates the lab bridge with the host address (hostIp/<the subnet's prefix>) and the forwarding guard, unless they exist. */
export async function ensureBridge(lab: LabNet): Promise<void> {
  const { bridge, hostIp } = lab;
  if (!linkExists(bridge)) {
    await run('ip', ['link', 'add', 'name', bridge, 'address', bridgeMac(lab.name), 'type', 'bridge']);
    quietIpv6(bridge);
  }
  const { stdout } = await run('ip', ['-j', '-4', 'addr', 'show', 'dev', bridge]);
  const addrs = (JSON.parse(stdout || '[]') as { addr_info?: { local: string }[] }[]).flatMap((l) => l.addr_info ?? []);
  if (!addrs.some((a) => a.local === hostIp)) {
    await run('ip', ['addr', 'add', `${hostIp}/${subnetPrefixLength(lab.subnet)}`, 'dev', bridge]);
  }
  if (!linkIsUp(bridge)) await run('ip', ['link', 'set', bridge, 'up']);
  await ensureForwardGuard(bridge);
}

async function guardRules(bridge: string): Promise<number> {
  const { stdout } = await run('ip', ['-j', 'rule', 'show']);
  const rules = JSON.parse(stdout || '[]') as { iif?: string; action?: string }[];
  return rules.filter((r) => r.iif === bridge && r.action === 'blackhole').length;
}

async function ensureForwardGuard(bridge: string): Promise<void> {
  if ((await guardRules(bridge)) > 0) return;
  await run('ip', ['rule', 'add', 'pref', GUARD_RULE_PREF, 'iif', bridge, 'blackhole']);
}

/** Removes the forwarding guard rules of `bridge`; returns how many. */
export async function removeForwardGuard(bridge: string): Promise<number> {
  let n = 0;
  while ((await guardRules(bridge)) > 0 && n < 10) {
    await run('ip', ['rule', 'del', 'iif', bridge, 'blackhole'], { allowFail: true });
    n++;
  }
  return n;
}

/**
 * Ensures the node's namespace, veth pair (host side on the bridge) and in-namespace addressing.
 * `keepDown`: the node has a link-down fault; the host side stays down.
 */
export async function ensureNodeNet(node: NodeRecord, lab: LabNet, keepDown: boolean): Promise<boolean> {
  const { bridge, hostIp } = lab;
  let changed = false;
  const freshNs = !netnsExists(node.netns);
  if (freshNs) {
    // A host-side veth without the namespace belongs to a namespace that is gone from /run/netns.
    if (linkExists(node.hostVeth)) await run('ip', ['link', 'del', node.hostVeth], { allowFail: true });
    await run('ip', ['netns', 'add', node.netns]);
    changed = true;
  }
  if (!linkExists(node.hostVeth)) {
    await run('ip', [
      'link', 'add', node.hostVeth, 'address', node.macs.hostVeth, 'type', 'veth',
      'peer', 'name', 'eth0', 'address', node.macs.eth0, 'netns', node.netns,
    ]); // prettier-ignore
    quietIpv6(node.hostVeth);
    const cmds = [
      'link set lo up',
      `addr replace ${node.ip}/${subnetPrefixLength(lab.subnet)} dev eth0`,
      'link set eth0 up',
      `route replace default via ${hostIp} dev eth0`,
    ];
    await run('ip', ['-n', node.netns, '-batch', '-'], { input: `${cmds.join('\n')}\n` });
    if (freshNs) await addSecondNic(node);
    changed = true;
  }
  if (linkMaster(node.hostVeth) !== bridge) {
    await run('ip', ['link', 'set', node.hostVeth, 'master', bridge]);
    changed = true;
  }
  if (!keepDown && !linkIsUp(node.hostVeth)) {
    await run('ip', ['link', 'set', node.hostVeth, 'up']);
    changed = true;
  }
  return changed;
}

/**
 * eth1: a NIC with its own MAC and no link, so inventory sees two NICs. A `dummy` interface, or an `ifb`
 * one on kernels built without the dummy driver (same look from inside: an Ethernet device, no carrier).
 */
async function addSecondNic(node: NodeRecord): Promise<void> {
  const add = (type: string) =>
    run('ip', ['-n', node.netns, 'link', 'add', 'eth1', 'address', node.macs.eth1, 'type', type], { allowFail: true });
  const r = await add('dummy');
  if (r.code !== 0)
    await run('ip', ['-n', node.netns, 'link', 'add', 'eth1', 'address', node.macs.eth1, 'type', 'ifb']);
  await run('ip', ['-n', node.netns, 'link', 'set', 'eth1', 'up']);
}

export async function setLinkUp(link: string, up: boolean): Promise<void> {
  await run('ip', ['link', 'set', link, up ? 'up' : 'down']);
}

/**
 * Makes the link towards a node slow: a 200 ms netem delay on the host side of its veth. Kernels built
 * without sch_netem (no delay qdisc at all) get a token-bucket limit instead (512 kbit/s, up to 500 ms of
 * queueing): slow for transfers, but small packets are barely delayed. Returns which one was applied.
 */
export async function setSlowLink(link: string, slow: boolean): Promise<'netem' | 'tbf' | 'none'> {
  if (!slow) {
    await run('tc', ['qdisc', 'del', 'dev', link, 'root'], { allowFail: true });
    return 'none';
  }
  const netem = await run('tc', ['qdisc', 'replace', 'dev', link, 'root', 'netem', 'delay', '200ms'], {
    allowFail: true,
  });
  if (netem.code === 0) return 'netem';
  if (!/unknown/i.test(netem.stderr)) {
    await run('tc', ['qdisc', 'replace', 'dev', link, 'root', 'netem', 'delay', '200ms']); // throws with the reason
  }
  await run('tc', [
    'qdisc',
    'replace',
    'dev',
    link,
    'root',
    'tbf',
    'rate',
    '512kbit',
    'burst',
    '4kb',
    'latency',
    '500ms',
  ]);
  return 'tbf';
}
