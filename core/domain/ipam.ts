/**
 * IPAM arithmetic (Crowbar's networks, ranges and allocations), IPv4 only and pure: addresses as
 * unsigned 32-bit numbers, a network as its CIDR, a range as first..last inclusive. The allocator picks
 * the lowest free address of a range; the checks say exactly which rule an address or a range breaks.
 * core/services/networks.ts turns the problems into AppErrors; nothing here touches the store.
 */

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

/** A dotted quad without leading zeros (`10.0.0.1`, not `010.0.0.1`) as a number, or null. */
export function parseIpv4(s: string): number | null {
  if (!IPV4.test(s)) return null;
  return s.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export interface Cidr {
  /** The network address (host bits zero). */
  base: number;
  prefix: number;
  /** Number of addresses, network and broadcast included. */
  size: number;
  /** Lowest and highest address a host may have (all of them for /31 and /32). */
  firstHost: number;
  lastHost: number;
}

/** `192.168.50.0/24` → its numbers; null when malformed or when host bits are set (`192.168.50.1/24`). */
export function parseCidr(s: string): Cidr | null {
  const m = /^([^/]+)\/(3[0-2]|[12]?\d)$/.exec(s);
  if (!m) return null;
  const base = parseIpv4(m[1]!);
  if (base === null) return null;
  const prefix = Number(m[2]);
  const size = 2 ** (32 - prefix);
  if (base % size !== 0) return null;
  const edges = prefix >= 31 ? 0 : 1;
  return { base, prefix, size, firstHost: base + edges, lastHost: base + size - 1 - edges };
}

export function formatCidr(c: Cidr): string {
  return `${formatIpv4(c.base)}/${c.prefix}`;
}

/** The dotted netmask of a prefix length (24 → 255.255.255.0). */
export function netmask(prefix: number): string {
  return formatIpv4(prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);
}

export function inCidr(c: Cidr, address: number): boolean {
  return address >= c.base && address < c.base + c.size;
}

/** Whether `address` may be given to a host of the network: inside it, not its network or broadcast address. */
export function isHostAddress(c: Cidr, address: number): boolean {
  return address >= c.firstHost && address <= c.lastHost;
}

export interface RangeSpan {
  name: string;
  first: string;
  last: string;
}

/**
 * What is wrong with a new range of network `c` (field-named, for the API's issues), given the network's
 * gateway and its existing ranges: bad addresses, outside the network's host addresses, first after
 * last, the gateway inside it, or overlapping another range. Empty: fine.
 */
export function rangeProblems(
  c: Cidr,
  gateway: string | null,
  range: RangeSpan,
  others: readonly RangeSpan[],
): { field: string; message: string }[] {
  const problems: { field: string; message: string }[] = [];
  const hosts = `${formatIpv4(c.firstHost)}..${formatIpv4(c.lastHost)}`;
  const first = parseIpv4(range.first);
  const last = parseIpv4(range.last);
  for (const [field, n] of [
    ['first', first],
    ['last', last],
  ] as const) {
    const value = field === 'first' ? range.first : range.last;
    if (n === null) problems.push({ field, message: 'expected an IPv4 address like 192.168.50.10' });
    else if (!isHostAddress(c, n))
      problems.push({
        field,
        message: `${value} is not a host address of ${formatCidr(c)} (expected one in ${hosts})`,
      });
  }
  if (problems.length || first === null || last === null) return problems;
  if (first > last) return [{ field: 'last', message: `expected an address at or after first (${range.first})` }];
  const gw = gateway === null ? null : parseIpv4(gateway);
  if (gw !== null && gw >= first && gw <= last) {
    return [{ field: 'first', message: `the range holds the network's gateway ${gateway}; leave it out` }];
  }
  for (const o of others) {
    const of = parseIpv4(o.first)!;
    const ol = parseIpv4(o.last)!;
    if (first <= ol && of <= last) {
      problems.push({
        field: 'first',
        message: `${range.first}..${range.last} overlaps range "${o.name}" (${o.first}..${o.last})`,
      });
    }
  }
  return problems;
}

/** Why an address cannot be allocated (the service maps `kind` to an error code). */
export type AddressProblem =
  { kind: 'invalid'; message: string } | { kind: 'outside'; message: string } | { kind: 'taken'; message: string };

/**
 * Checks one requested address of network `c`: a host address of the network, not its gateway, inside
 * `range` when one is given, and not in `taken`. Returns null when it may be allocated.
 */
export function addressProblem(
  c: Cidr,
  opts: { address: string; gateway: string | null; range?: RangeSpan; taken: ReadonlySet<number> },
): AddressProblem | null {
  const n = parseIpv4(opts.address);
  if (n === null) return { kind: 'invalid', message: 'expected an IPv4 address like 192.168.50.10' };
  if (!isHostAddress(c, n)) {
    const hosts = `${formatIpv4(c.firstHost)}..${formatIpv4(c.lastHost)}`;
    return { kind: 'outside', message: `${opts.address} is not a host address of ${formatCidr(c)} (${hosts})` };
  }
  if (opts.gateway !== null && parseIpv4(opts.gateway) === n) {
    return { kind: 'outside', message: `${opts.address} is the gateway of ${formatCidr(c)}` };
  }
  if (opts.range) {
    const { name, first, last } = opts.range;
    if (n < parseIpv4(first)! || n > parseIpv4(last)!) {
      return { kind: 'outside', message: `${opts.address} is outside range "${name}" (${first}..${last})` };
    }
  }
  if (opts.taken.has(n)) return { kind: 'taken', message: `${opts.address} is already allocated` };
  return null;
}

/**
 * The lowest address of `range` that is not taken and not the gateway (network and broadcast
 * addresses are never inside a valid range), or null when the range is exhausted.
 */
export function nextFree(range: RangeSpan, gateway: string | null, taken: ReadonlySet<number>): string | null {
  const first = parseIpv4(range.first)!;
  const last = parseIpv4(range.last)!;
  const gw = gateway === null ? null : parseIpv4(gateway);
  for (let n = first; n <= last; n++) {
    if (n !== gw && !taken.has(n)) return formatIpv4(n);
  }
  return null;
}

/** The range (of `ranges`) holding `address`, or null. */
export function rangeOf<R extends RangeSpan>(ranges: readonly R[], address: string): R | null {
  const n = parseIpv4(address);
  if (n === null) return null;
  return ranges.find((r) => n >= parseIpv4(r.first)! && n <= parseIpv4(r.last)!) ?? null;
}

/** Addresses sort numerically (10.0.0.9 before 10.0.0.10). */
export function compareIpv4(a: string, b: string): number {
  return (parseIpv4(a) ?? 0) - (parseIpv4(b) ?? 0);
}

/** Network categories: `admin` is the management network (node addresses; never reconfigured live). */
export const NETWORK_CATEGORY = /^[a-z][a-z0-9-]{0,31}$/;

export interface NetworkRecord {
  id: number;
  name: string;
  description: string;
  deploymentId: number;
  cidr: string;
  vlan: number | null;
  gateway: string | null;
  category: string;
  interface: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface RangeRecord {
  id: number;
  networkId: number;
  name: string;
  first: string;
  last: string;
  createdAt: number;
}

export interface AllocationRecord {
  id: number;
  networkId: number;
  network: string;
  rangeId: number | null;
  range: string | null;
  nodeId: number;
  node: string;
  address: string;
  createdBy: string;
  createdAt: number;
}
