/**
 * The BIOS planner (DESIGN §2 hardware-configured): the `bios/settings` baseline (attribute → value) diffed
 * against what the BIOS holds now. Pure: no I/O. Values compare by type and value (`"Enabled"` is not
 * `true`, `1` is not `"1"`), as Redfish Bios Attributes do.
 */
export type BiosValue = string | number | boolean;

export interface BiosDiff {
  /** Attributes to set: the baseline's value where the BIOS differs. */
  changes: Record<string, BiosValue>;
  /** Baseline attributes the BIOS does not have (a typo, or another vendor's name). */
  unknown: string[];
}

export function diffBios(current: Record<string, BiosValue>, baseline: Record<string, BiosValue>): BiosDiff {
  const changes: Record<string, BiosValue> = {};
  const unknown: string[] = [];
  for (const key of Object.keys(baseline).sort()) {
    if (!Object.prototype.hasOwnProperty.call(current, key)) unknown.push(key);
    else if (current[key] !== baseline[key]) changes[key] = baseline[key]!;
  }
  return { changes, unknown };
}

/** The baseline attributes the BIOS does not hold, as `<name>: want …, got …` (verification after a change). */
export function biosMismatches(current: Record<string, BiosValue>, baseline: Record<string, BiosValue>): string[] {
  const { changes, unknown } = diffBios(current, baseline);
  return [
    ...Object.keys(changes).map((k) => `${k}: want ${JSON.stringify(baseline[k])}, got ${JSON.stringify(current[k])}`),
    ...unknown.map((k) => `${k}: the BIOS has no such attribute`),
  ];
}
