/**
 * A node's hardware inventory (DESIGN §2 managed-node): the shape the `inventory` role records as node
 * attribs and facts, and the parser of its gather script's output (barclamps/inventory/templates/
 * inventory.sh.hbs). Pure: no I/O.
 *
 * The script prints tab-separated lines in sections: `@cpu` (model, threads, cores, sockets), `@mem` (kb),
 * `@disk` (name, 512-byte sectors, model, serial, rotational), `@nic` (`ip -o link` lines), `@nicsys`
 * (/sys/class/net: name, address, speed, operstate, carrier), `@dmi` (field, value), `@lldp` (`lldpctl -f
 * keyvalue` lines), `@lab` (/etc/anneal-lab/hardware.json on one line), `@end`.
 *
 * Lab nodes (docs/lab.md) share the host's kernel, /sys and /proc: /sys/block and /sys/class/dmi/id describe
 * the host, not the node. When `@lab` holds the lab's hardware file, its disks (with serial and model) and
 * its system (vendor, product, serial) replace those, and a /sys/class/net entry counts only when its MAC
 * is the one the node's own netlink (`ip -o link`) shows for that name. CPU and memory come from /proc,
 * which on a lab node are the host's, as the lab's hardware file says too.
 */

export interface InventoryCpu {
  model: string;
  sockets: number;
  cores: number;
  threads: number;
}

export interface InventoryDisk {
  name: string;
  sizeBytes: number;
  model: string;
  serial: string;
  /** Rotational (HDD) or not (SSD); null when unknown (lab disks). */
  rotational: boolean | null;
}

export interface InventoryNic {
  name: string;
  mac: string;
  /** Carrier: `up` when the link has carrier (LOWER_UP), else `down`. */
  link: 'up' | 'down';
  /** Link speed in Mb/s as /sys reports it; null when unknown. */
  speedMbps: number | null;
}

export interface InventoryLldpNeighbour {
  interface: string;
  chassisName: string | null;
  chassisId: string | null;
  portId: string | null;
  portDescription: string | null;
}

export interface Inventory {
  cpu: InventoryCpu;
  memoryMb: number;
  disks: InventoryDisk[];
  nics: InventoryNic[];
  dmi: Record<string, string>;
  lldp: InventoryLldpNeighbour[];
  /** Where disks and DMI came from: the lab's hardware file, or the node's /sys. */
  source: 'lab' | 'sysfs';
}

/** What the script said when its output was too long for one run: fetch `path` (`size` bytes) in chunks. */
export interface ChunkedOutput {
  chunked: true;
  size: number;
  path: string;
}

export class InventoryParseError extends Error {}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** `@chunked <size> <path>` when the script kept its output in a file; null otherwise. */
export function chunkedOutput(stdout: string): ChunkedOutput | null {
  const m = /^@chunked\t(\d+)\t(\/\S+)\s*$/.exec(stdout.trim());
  return m ? { chunked: true, size: Number(m[1]), path: m[2]! } : null;
}

function sections(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const head = /^@([a-z]+)$/.exec(line);
    if (head) {
      current = [];
      out.set(head[1]!, current);
      continue;
    }
    if (current && line !== '') current.push(line);
  }
  return out;
}

const int = (s: string | undefined): number | null => {
  if (s === undefined || !/^-?\d+$/.test(s.trim())) return null;
  return Number(s.trim());
};

function parseCpu(lines: string[]): InventoryCpu {
  const kv = new Map(lines.map((l) => l.split('\t') as [string, string]).map(([k, v]) => [k, v ?? '']));
  const threads = int(kv.get('threads')) ?? 0;
  return {
    model: (kv.get('model') ?? '').trim().replace(/\s+/g, ' ') || 'unknown',
    sockets: Math.max(1, int(kv.get('sockets')) ?? 1),
    cores: int(kv.get('cores')) || threads,
    threads,
  };
}

interface LabHardware {
  system?: { manufacturer?: unknown; product?: unknown; serial?: unknown };
  disks?: { name?: unknown; sizeBytes?: unknown; serial?: unknown; model?: unknown }[];
}

function parseLab(lines: string[]): LabHardware | null {
  const text = lines.join(' ').trim();
  if (!text) return null;
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as LabHardware) : null;
  } catch {
    throw new InventoryParseError('the lab hardware file /etc/anneal-lab/hardware.json is not valid JSON');
  }
}

function labDisks(lab: LabHardware): InventoryDisk[] {
  return (Array.isArray(lab.disks) ? lab.disks : [])
    .filter((d) => typeof d.name === 'string' && typeof d.sizeBytes === 'number')
    .map((d) => ({
      name: String(d.name),
      sizeBytes: Number(d.sizeBytes),
      model: typeof d.model === 'string' ? d.model : '',
      serial: typeof d.serial === 'string' ? d.serial : '',
      rotational: null,
    }));
}

function sysDisks(lines: string[]): InventoryDisk[] {
  const out: InventoryDisk[] = [];
  for (const line of lines) {
    const [name, sectors, model = '', serial = '', rot = ''] = line.split('\t');
    const n = int(sectors);
    if (!name || n === null || n <= 0) continue;
    out.push({
      name,
      sizeBytes: n * 512,
      model: model.trim(),
      serial: serial.trim(),
      rotational: rot === '1' ? true : rot === '0' ? false : null,
    });
  }
  return out;
}

/** `ip -o link` lines: `2: eth0@if5: <BROADCAST,UP,LOWER_UP> mtu … state UP … link/ether 52:54:… brd …`. */
function netlinkNics(lines: string[]): { name: string; mac: string; carrier: boolean }[] {
  const out: { name: string; mac: string; carrier: boolean }[] = [];
  for (const line of lines) {
    const m = /^\d+:\s+([^:@\s]+)(?:@[^:\s]+)?:\s+<([^>]*)>.*?link\/ether\s+([0-9a-fA-F:]{17})/.exec(line);
    if (!m) continue; // loopback, tunnels without a MAC, …
    const flags = m[2]!.split(',');
    out.push({ name: m[1]!, mac: m[3]!.toLowerCase(), carrier: flags.includes('LOWER_UP') && flags.includes('UP') });
  }
  return out;
}

interface SysNic {
  name: string;
  mac: string;
  speed: number | null;
  carrier: boolean;
}

function sysNics(lines: string[]): SysNic[] {
  const out: SysNic[] = [];
  for (const line of lines) {
    const [name, mac = '', speed, operstate = '', carrier = ''] = line.split('\t');
    if (!name || !MAC.test(mac.toLowerCase()) || mac === '00:00:00:00:00:00') continue;
    const s = int(speed);
    out.push({
      name,
      mac: mac.toLowerCase(),
      speed: s !== null && s > 0 ? s : null,
      carrier: carrier === '1' || (carrier === '' && operstate === 'up'),
    });
  }
  return out;
}

function parseLldp(lines: string[]): InventoryLldpNeighbour[] {
  const by = new Map<string, InventoryLldpNeighbour>();
  for (const line of lines) {
    const m = /^lldp\.([^.=]+)\.([a-z]+)\.([a-z]+)=(.*)$/.exec(line);
    if (!m) continue;
    const [, iface, obj, field, value] = m as unknown as [string, string, string, string, string];
    const n = by.get(iface) ?? {
      interface: iface,
      chassisName: null,
      chassisId: null,
      portId: null,
      portDescription: null,
    };
    if (obj === 'chassis' && field === 'name') n.chassisName = value;
    else if (obj === 'chassis' && (field === 'mac' || field === 'id')) n.chassisId ??= value;
    else if (obj === 'port' && (field === 'ifname' || field === 'mac' || field === 'local')) n.portId ??= value;
    else if (obj === 'port' && field === 'descr') n.portDescription = value;
    by.set(iface, n);
  }
  return [...by.values()].sort((a, b) => a.interface.localeCompare(b.interface));
}

/**
 * Parses the gather script's whole output into an {@link Inventory}. Throws InventoryParseError when the
 * output is cut short (no `@end`, e.g. a truncated tail) or has no `@cpu`/`@mem` section. Lists are sorted
 * by name so the same hardware always gives the same value.
 */
export function parseInventory(stdout: string): Inventory {
  const s = sections(stdout);
  if (!s.has('end')) throw new InventoryParseError('the inventory output is incomplete (no @end marker)');
  if (!s.has('cpu') || !s.has('mem')) throw new InventoryParseError('the inventory output has no @cpu or @mem');
  const lab = parseLab(s.get('lab') ?? []);
  const kb = int((s.get('mem') ?? []).find((l) => l.startsWith('kb\t'))?.split('\t')[1]) ?? 0;

  const netlink = netlinkNics(s.get('nic') ?? []);
  const sys = sysNics(s.get('nicsys') ?? []);
  let nics: InventoryNic[];
  if (netlink.length) {
    // /sys/class/net may belong to another network namespace (a lab node sees the host's): use a /sys
    // entry only when it is the same device, i.e. the same name with the same MAC.
    nics = netlink.map((n) => {
      const same = sys.find((x) => x.name === n.name && x.mac === n.mac);
      return { name: n.name, mac: n.mac, link: n.carrier ? 'up' : 'down', speedMbps: same?.speed ?? null };
    });
  } else {
    nics = sys.map((n) => ({ name: n.name, mac: n.mac, link: n.carrier ? 'up' : 'down', speedMbps: n.speed }));
  }

  let dmi: Record<string, string> = {};
  for (const line of s.get('dmi') ?? []) {
    const [k, v] = line.split('\t');
    if (k && v && /^[a-z_]+$/.test(k)) dmi[k] = v.trim();
  }
  let disks = sysDisks(s.get('disk') ?? []);
  if (lab) {
    disks = labDisks(lab);
    const sysInfo = lab.system ?? {};
    dmi = {};
    if (typeof sysInfo.manufacturer === 'string') dmi.sys_vendor = sysInfo.manufacturer;
    if (typeof sysInfo.product === 'string') dmi.product_name = sysInfo.product;
    if (typeof sysInfo.serial === 'string') dmi.product_serial = sysInfo.serial;
  }
  const byName = <T extends { name: string }>(a: T, b: T) => a.name.localeCompare(b.name);
  return {
    cpu: parseCpu(s.get('cpu') ?? []),
    memoryMb: Math.floor(kb / 1024),
    disks: disks.sort(byName),
    nics: nics.sort(byName),
    dmi: Object.fromEntries(Object.entries(dmi).sort(([a], [b]) => a.localeCompare(b))),
    lldp: parseLldp(s.get('lldp') ?? []),
    source: lab ? 'lab' : 'sysfs',
  };
}

/**
 * The differences between a recorded inventory and a fresh one, as `field: recorded → now` lines (empty:
 * the same). Used by the inventory check.
 */
export function inventoryDrift(recorded: Inventory, now: Inventory): string[] {
  const out: string[] = [];
  const cmp = (field: string, a: unknown, b: unknown) => {
    const ja = JSON.stringify(a);
    const jb = JSON.stringify(b);
    if (ja !== jb) out.push(`${field}: recorded ${ja} but the node has ${jb}`);
  };
  cmp('cpu', recorded.cpu, now.cpu);
  cmp('memory-mb', recorded.memoryMb, now.memoryMb);
  cmp('disks', recorded.disks, now.disks);
  cmp('nics', recorded.nics, now.nics);
  cmp('dmi', recorded.dmi, now.dmi);
  cmp('lldp', recorded.lldp, now.lldp);
  return out;
}

/** What a deployment expects of its nodes' hardware (`inventory/expect`); every bound is optional. */
export interface HardwareExpectations {
  minThreads?: number;
  minMemoryMb?: number;
  minDisks?: number;
  /** Each of at least `minDisks` disks (or at least one) has this many GiB. */
  minDiskGib?: number;
  minNics?: number;
}

/** Every expectation the inventory does not meet, as one line each (empty: it meets them all). Pure. */
export function unmetExpectations(inv: Inventory, expect: HardwareExpectations): string[] {
  const out: string[] = [];
  const gib = 1024 ** 3;
  if (expect.minThreads !== undefined && inv.cpu.threads < expect.minThreads)
    out.push(`${inv.cpu.threads} CPU thread(s), expected at least ${expect.minThreads}`);
  if (expect.minMemoryMb !== undefined && inv.memoryMb < expect.minMemoryMb)
    out.push(`${inv.memoryMb} MB of memory, expected at least ${expect.minMemoryMb}`);
  const bigEnough = inv.disks.filter((d) => d.sizeBytes >= (expect.minDiskGib ?? 0) * gib);
  const wantDisks = expect.minDisks ?? (expect.minDiskGib !== undefined ? 1 : 0);
  if (bigEnough.length < wantDisks)
    out.push(
      `${bigEnough.length} disk(s)${expect.minDiskGib !== undefined ? ` of at least ${expect.minDiskGib} GiB` : ''}, expected at least ${wantDisks}`,
    );
  if (expect.minNics !== undefined && inv.nics.length < expect.minNics)
    out.push(`${inv.nics.length} NIC(s), expected at least ${expect.minNics}`);
  return out;
}
