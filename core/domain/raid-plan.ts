/**
 * The RAID planner (DESIGN §2 hardware-configured): from the disks inventory found and the raid attribs,
 * the volumes a node's controller should hold; and what to do given what it holds now. Pure: no I/O.
 *
 * Rules (docs/barclamps.md, raid):
 * - Disks are taken largest first (ties: by id). A disk is known by its serial (its name
 *   when it has none): names can change between boots, serials do not.
 * - `raid/os-level`: `raid1` mirrors the two largest disks as volume `os`; `raid0` makes the largest disk a
 *   one-disk RAID0 volume `os`; `none` makes no OS volume.
 * - `raid/data`, on the disks the OS volume did not take: `jbod` passes each through as its own volume
 *   `jbod-<disk>`; `raid0` stripes them all, `raid5` (3+ disks), `raid6` (4+), `raid10` (an even number, 4+) as
 *   volume `data`; `raid1` mirrors exactly two; `none` leaves them unconfigured. No disk left: no data volume.
 * - Capacity uses the smallest member (odd sizes waste the rest): RAID0 n×min, RAID1 min, RAID5 (n−1)×min,
 *   RAID6 (n−2)×min, RAID10 n/2×min, JBOD the disk's size.
 */

export const raidOsLevels = ['raid1', 'raid0', 'none'] as const;
export type RaidOsLevel = (typeof raidOsLevels)[number];
export const raidDataLevels = ['jbod', 'raid0', 'raid1', 'raid5', 'raid6', 'raid10', 'none'] as const;
export type RaidDataLevel = (typeof raidDataLevels)[number];

/** Volume levels as controllers name them; JBOD is a pass-through disk (Redfish RAIDType `None`). */
export type VolumeLevel = 'RAID0' | 'RAID1' | 'RAID5' | 'RAID6' | 'RAID10' | 'JBOD';

export interface PlanDisk {
  name: string;
  sizeBytes: number;
  serial: string;
}

export interface Volume {
  name: string;
  level: VolumeLevel;
  /** Member disks by id (serial, or name without one), sorted. */
  drives: string[];
  capacityBytes: number;
}

export type RaidPlan = { ok: true; volumes: Volume[] } | { ok: false; field: string; message: string };

/** Smallest and largest member counts per level (largest: Infinity when unbounded). */
export const levelMembers: Record<VolumeLevel, { min: number; max: number; even?: boolean }> = {
  RAID0: { min: 1, max: Infinity },
  RAID1: { min: 2, max: 2 },
  RAID5: { min: 3, max: Infinity },
  RAID6: { min: 4, max: Infinity },
  RAID10: { min: 4, max: Infinity, even: true },
  JBOD: { min: 1, max: 1 },
};

export const diskId = (d: { serial: string; name: string }): string => (d.serial !== '' ? d.serial : d.name);

/** Usable capacity of a volume of `level` over disks of these sizes. */
export function volumeCapacity(level: VolumeLevel, sizes: number[]): number {
  if (sizes.length === 0) return 0;
  const min = Math.min(...sizes);
  const n = sizes.length;
  switch (level) {
    case 'RAID0':
      return n * min;
    case 'RAID1':
      return min;
    case 'RAID5':
      return (n - 1) * min;
    case 'RAID6':
      return (n - 2) * min;
    case 'RAID10':
      return (n / 2) * min;
    case 'JBOD':
      return sizes[0]!;
  }
}

/** Why `n` disks cannot make a `level` volume, or null when they can. */
export function membersProblem(level: VolumeLevel, n: number): string | null {
  const m = levelMembers[level];
  if (n < m.min) return `${level} needs at least ${m.min} disk(s), got ${n}`;
  if (n > m.max) return `${level} takes at most ${m.max} disk(s), got ${n}`;
  if (m.even && n % 2 !== 0) return `${level} needs an even number of disks, got ${n}`;
  return null;
}

function volume(name: string, level: VolumeLevel, disks: PlanDisk[]): Volume {
  return {
    name,
    level,
    drives: disks.map(diskId).sort(),
    capacityBytes: volumeCapacity(
      level,
      disks.map((d) => d.sizeBytes),
    ),
  };
}

const dataLevel: Record<Exclude<RaidDataLevel, 'jbod' | 'none'>, VolumeLevel> = {
  raid0: 'RAID0',
  raid1: 'RAID1',
  raid5: 'RAID5',
  raid6: 'RAID6',
  raid10: 'RAID10',
};

/** The volumes for these disks and settings, or the attrib that cannot be met and why. */
export function planRaid(disks: PlanDisk[], opts: { osLevel: RaidOsLevel; data: RaidDataLevel }): RaidPlan {
  const ids = new Set<string>();
  for (const d of disks) {
    if (ids.has(diskId(d))) {
      return { ok: false, field: 'inventory/disks', message: `two disks share the id ${JSON.stringify(diskId(d))}` };
    }
    ids.add(diskId(d));
  }
  const sorted = [...disks].sort((a, b) => b.sizeBytes - a.sizeBytes || diskId(a).localeCompare(diskId(b)));
  const volumes: Volume[] = [];
  let rest = sorted;
  if (opts.osLevel === 'raid1') {
    if (sorted.length < 2) {
      return {
        ok: false,
        field: 'raid/os-level',
        message: `raid1 for the OS needs 2 disks and the node has ${sorted.length}: set raid/os-level to raid0 or none`,
      };
    }
    volumes.push(volume('os', 'RAID1', sorted.slice(0, 2)));
    rest = sorted.slice(2);
  } else if (opts.osLevel === 'raid0') {
    if (sorted.length < 1) {
      return { ok: false, field: 'raid/os-level', message: 'raid0 for the OS needs a disk and the node has none' };
    }
    volumes.push(volume('os', 'RAID0', sorted.slice(0, 1)));
    rest = sorted.slice(1);
  }
  if (rest.length === 0 || opts.data === 'none') return { ok: true, volumes };
  if (opts.data === 'jbod') {
    for (const d of [...rest].sort((a, b) => a.name.localeCompare(b.name)))
      volumes.push(volume(`jbod-${d.name}`, 'JBOD', [d]));
    return { ok: true, volumes };
  }
  const level = dataLevel[opts.data];
  const problem = membersProblem(level, rest.length);
  if (problem) {
    return {
      ok: false,
      field: 'raid/data',
      message: `${opts.data} for the data disks: ${problem} (after the OS volume took ${sorted.length - rest.length})`,
    };
  }
  volumes.push(volume('data', level, rest));
  return { ok: true, volumes };
}

/** Differences between wanted and actual volumes as `volume <name> <field>: want … got …`; empty when equal. */
export function volumeDiff(want: Volume[], have: Volume[]): string[] {
  const out: string[] = [];
  const byName = new Map(have.map((v) => [v.name, v]));
  for (const w of want) {
    const h = byName.get(w.name);
    if (!h) {
      out.push(`volume ${w.name}: missing`);
      continue;
    }
    if (h.level !== w.level) out.push(`volume ${w.name} level: want ${w.level}, got ${h.level}`);
    const hd = [...h.drives].sort();
    if (JSON.stringify(hd) !== JSON.stringify(w.drives)) {
      out.push(`volume ${w.name} drives: want ${w.drives.join(',')}, got ${hd.join(',')}`);
    }
    if (h.capacityBytes !== w.capacityBytes) {
      out.push(`volume ${w.name} capacityBytes: want ${w.capacityBytes}, got ${h.capacityBytes}`);
    }
  }
  for (const h of have) if (!want.some((w) => w.name === h.name)) out.push(`volume ${h.name}: not planned`);
  return out;
}

/**
 * What raid-configure does about a controller holding `have` when the plan is `want`: nothing (it holds the
 * plan already), create (it is empty), wipe then create (it holds something else and `force` is set), or
 * refuse (it holds something else: wiping it destroys data).
 */
export function raidDecision(want: Volume[], have: Volume[], force: boolean): 'nothing' | 'create' | 'wipe' | 'refuse' {
  if (volumeDiff(want, have).length === 0) return 'nothing';
  if (have.length === 0) return 'create';
  return force ? 'wipe' : 'refuse';
}
