/**
 * The `lab` hardware driver: a lab node's virtual RAID controller and BIOS, in band, the way a vendor tool
 * run on the node (storcli, racadm) configures real ones. The state is files the lab gives every node,
 * edited over the role's ssh jig:
 * - drives: the node's virtual disks, from /etc/anneal-lab/hardware.json (the lab writes it; docs/lab.md);
 * - volumes: /etc/anneal-lab/raid.json `{"volumes": [{name, level, drives, capacityBytes}]}` (absent: none);
 * - BIOS: /etc/anneal-lab/bios.json `{"attributes": {…}}` over the lab BIOS's factory values
 *   ({@link LAB_BIOS_DEFAULTS}, the same as the Redfish emulator's).
 * The controller's rules are the real ones: a drive belongs to one volume, member counts per level
 * (levelMembers), capacity from the smallest member. Files are written whole (temporary file, then mv).
 * A node without the hardware file is not a lab node: ERR_COMMAND_FAILED saying to pick another driver.
 */
import { AppError } from '../errors';
import type { BiosValue } from '../domain/bios-plan';
import { diskId, membersProblem, volumeCapacity, type Volume, type VolumeLevel } from '../domain/raid-plan';
import type { Executor } from '../plugins/manifest';
import { shellQuote } from '../templates/render';
import type { ControllerDrive, HardwareDriver } from './driver';

export const LAB_HARDWARE_FILE = '/etc/anneal-lab/hardware.json';
export const LAB_RAID_FILE = '/etc/anneal-lab/raid.json';
export const LAB_BIOS_FILE = '/etc/anneal-lab/bios.json';

/** The lab BIOS's attributes and factory values (kept equal to BIOS_DEFAULTS in core/lab/redfish-bmc.ts). */
export const LAB_BIOS_DEFAULTS: Record<string, BiosValue> = {
  AssetTag: '',
  BootMode: 'Uefi',
  MemTest: 'Disabled',
  NumLock: 'On',
  ProcCStates: 'Enabled',
  ProcHyperthreading: 'Enabled',
  ProcVirtualization: 'Enabled',
  PxeDev1EnDis: 'Enabled',
  SecureBoot: 'Disabled',
  SerialComm: 'OnConRedirCom1',
  SriovGlobalEnable: 'Disabled',
  SysProfile: 'PerfPerWattOptimizedDapc',
};

const LEVELS: readonly VolumeLevel[] = ['RAID0', 'RAID1', 'RAID5', 'RAID6', 'RAID10', 'JBOD'];

export function createLabHardwareDriver(node: string, exec: Executor, signal?: AbortSignal): HardwareDriver {
  const refuse = (text: string) => new AppError('ERR_COMMAND_FAILED', `the lab controller of ${node} ${text}`);

  async function run(script: string): Promise<string> {
    const out = await exec.run(script, { signal, timeoutMs: 60_000 });
    if (out.exitCode !== 0) {
      throw new AppError('ERR_COMMAND_FAILED', `lab hardware driver on ${node} exited ${out.exitCode}`, {
        details: { exitCode: out.exitCode, stdoutTail: out.stdout, stderrTail: out.stderr },
      });
    }
    return out.stdout;
  }
  async function readJson(file: string, missing: unknown): Promise<unknown> {
    const text = await run(`if [ -e ${shellQuote(file)} ]; then cat ${shellQuote(file)}; else echo '@missing'; fi`);
    if (text.trim() === '@missing') return missing;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw refuse(`cannot read ${file}: not JSON`);
    }
  }
  async function writeJson(file: string, value: unknown): Promise<void> {
    const f = shellQuote(file);
    const tmp = shellQuote(`${file}.tmp`);
    await run(
      `set -e\numask 022\nprintf '%s\\n' ${shellQuote(JSON.stringify(value, null, 2))} >${tmp}\nmv -f ${tmp} ${f}`,
    );
  }
  async function drives(): Promise<ControllerDrive[]> {
    const hw = (await readJson(LAB_HARDWARE_FILE, null)) as { disks?: unknown } | null;
    if (hw === null) {
      throw new AppError(
        'ERR_COMMAND_FAILED',
        `${node} is not a lab node (no ${LAB_HARDWARE_FILE}): the lab hardware driver cannot configure it; set raid/driver or bios/driver to redfish`,
      );
    }
    return (Array.isArray(hw.disks) ? (hw.disks as Record<string, unknown>[]) : [])
      .filter((d) => typeof d.name === 'string' && typeof d.sizeBytes === 'number')
      .map((d) => ({
        id: String(d.name),
        serial: typeof d.serial === 'string' ? d.serial : '',
        model: typeof d.model === 'string' ? d.model : '',
        sizeBytes: Number(d.sizeBytes),
      }));
  }
  async function volumes(): Promise<Volume[]> {
    const state = (await readJson(LAB_RAID_FILE, { volumes: [] })) as { volumes?: unknown };
    if (!Array.isArray(state.volumes)) throw refuse(`cannot read ${LAB_RAID_FILE}: no volumes list`);
    return (state.volumes as Volume[]).map((v) => ({ ...v, drives: [...v.drives].sort() }));
  }
  async function biosAttributes(): Promise<Record<string, BiosValue>> {
    const state = (await readJson(LAB_BIOS_FILE, {})) as { attributes?: Record<string, BiosValue> };
    return { ...LAB_BIOS_DEFAULTS, ...(state.attributes ?? {}) };
  }

  return {
    name: 'lab',
    drives,
    volumes,
    async wipeVolumes() {
      await drives(); // a lab node, or say so
      await writeJson(LAB_RAID_FILE, { volumes: [] });
    },
    async createVolume(volume) {
      const ds = await drives();
      const have = await volumes();
      if (!LEVELS.includes(volume.level)) throw refuse(`has no level ${volume.level}`);
      const problem = membersProblem(volume.level, volume.drives.length);
      if (problem) throw refuse(`refuses volume ${volume.name}: ${problem}`);
      if (have.some((v) => v.name === volume.name)) throw refuse(`already has a volume named ${volume.name}`);
      const members = volume.drives.map((id) => {
        const d = ds.find((x) => diskId({ serial: x.serial, name: x.id }) === id);
        if (!d) throw refuse(`has no drive ${id} for volume ${volume.name}`);
        const user = have.find((v) => v.drives.includes(id));
        if (user) throw refuse(`refuses volume ${volume.name}: drive ${id} belongs to volume ${user.name}`);
        return d;
      });
      const created: Volume = {
        name: volume.name,
        level: volume.level,
        drives: [...volume.drives].sort(),
        capacityBytes: volumeCapacity(
          volume.level,
          members.map((m) => m.sizeBytes),
        ),
      };
      await writeJson(LAB_RAID_FILE, { volumes: [...have, created] });
    },
    biosAttributes,
    async setBios(changes) {
      await drives(); // a lab node, or say so
      for (const [k, v] of Object.entries(changes)) {
        if (!(k in LAB_BIOS_DEFAULTS))
          throw new AppError('ERR_COMMAND_FAILED', `the lab BIOS of ${node} has no attribute ${k}`);
        if (typeof v !== typeof LAB_BIOS_DEFAULTS[k]) {
          throw new AppError(
            'ERR_COMMAND_FAILED',
            `the lab BIOS of ${node} refuses ${k}=${JSON.stringify(v)}: wrong type`,
          );
        }
      }
      const state = (await readJson(LAB_BIOS_FILE, {})) as { attributes?: Record<string, BiosValue> };
      await writeJson(LAB_BIOS_FILE, { attributes: { ...(state.attributes ?? {}), ...changes } });
    },
  };
}
