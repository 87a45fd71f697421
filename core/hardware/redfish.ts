/**
 * The `redfish` hardware driver: a node's RAID controller and BIOS through its BMC's Redfish service, per
 * the DMTF schemas. It finds the ComputerSystem (the first member of /redfish/v1/Systems), then:
 * - drives: the first member of the system's `Storage` collection, its `Drives` links (SerialNumber, Model,
 *   CapacityBytes);
 * - volumes: that Storage's `Volumes` collection (Name, RAIDType, CapacityBytes, Links.Drives); RAIDType
 *   `None` is a pass-through disk (JBOD);
 * - create: POST to the Volumes collection `{Name, RAIDType, Links: {Drives: [{@odata.id}]}}`;
 * - wipe: the Storage's `#Storage.ResetToDefaults` action with ResetType `ResetAll`;
 * - BIOS: GET the system's `Bios` (Attributes), PATCH its `@Redfish.Settings.SettingsObject` with
 *   `{Attributes, @Redfish.SettingsApplyTime: {ApplyTime: Immediate}}`. A BMC that applies BIOS settings
 *   only at the next reset (no `Immediate` in SupportedApplyTimes) is refused with ERR_COMMAND_FAILED:
 *   that path (PATCH, reset, read back on the next run) is not implemented yet.
 * Requests go through ctx.admin.bmc.redfish (stored credentials, per-BMC limits). A 4xx answer other than
 * 401/403/404 means the BMC refused the request: ERR_COMMAND_FAILED (user), so it is not retried.
 */
import { AppError } from '../errors';
import type { BiosValue } from '../domain/bios-plan';
import { diskId, type Volume, type VolumeLevel } from '../domain/raid-plan';
import type { ControllerDrive, HardwareDriver } from './driver';

export type RedfishCall = (
  method: 'GET' | 'POST' | 'PATCH',
  path: string,
  body?: unknown,
) => Promise<{ status: number; body: unknown }>;

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const idOf = (v: unknown): string | undefined => {
  const id = obj(v)['@odata.id'];
  return typeof id === 'string' && id.startsWith('/') ? id : undefined;
};
const links = (v: unknown): string[] =>
  (Array.isArray(v) ? v : []).map(idOf).filter((x): x is string => x !== undefined);

const LEVELS: Record<string, VolumeLevel> = {
  RAID0: 'RAID0',
  RAID1: 'RAID1',
  RAID5: 'RAID5',
  RAID6: 'RAID6',
  RAID10: 'RAID10',
  None: 'JBOD',
};
const toRaidType = (l: VolumeLevel): string => (l === 'JBOD' ? 'None' : l);

export function createRedfishHardwareDriver(node: string, call: RedfishCall): HardwareDriver {
  const refused = (what: string, e: unknown): never => {
    const status = (obj((e as { details?: unknown }).details).status ?? 0) as number;
    if (e instanceof AppError && e.code === 'ERR_POWER_FAILED' && status >= 400 && status < 500 && status !== 404) {
      throw new AppError('ERR_COMMAND_FAILED', `${what} on ${node}: ${e.message}`, { details: { status } });
    }
    throw e;
  };
  const get = async (path: string): Promise<Json> => obj((await call('GET', path)).body);
  const fail = (text: string) => new AppError('ERR_COMMAND_FAILED', `the Redfish service of ${node}'s BMC ${text}`);

  let systemUri: string | undefined;
  async function system(): Promise<Json> {
    if (!systemUri) {
      const root = await get('/redfish/v1/');
      const coll = idOf(root.Systems);
      if (!coll) throw fail('has no Systems collection');
      const first = links((await get(coll)).Members)[0];
      if (!first) throw fail('lists no ComputerSystem');
      systemUri = first;
    }
    return get(systemUri);
  }
  async function storage(): Promise<Json> {
    const coll = idOf((await system()).Storage);
    if (!coll) throw fail('has no Storage for the system: its controller cannot be managed over Redfish');
    const first = links((await get(coll)).Members)[0];
    if (!first) throw fail('lists no Storage controller');
    return get(first);
  }
  async function drives(st?: Json): Promise<(ControllerDrive & { uri: string })[]> {
    const s = st ?? (await storage());
    const out: (ControllerDrive & { uri: string })[] = [];
    for (const uri of links(s.Drives)) {
      const d = await get(uri);
      out.push({
        uri,
        id: String(d.Id ?? uri.split('/').pop()),
        serial: typeof d.SerialNumber === 'string' ? d.SerialNumber : '',
        model: typeof d.Model === 'string' ? d.Model : '',
        sizeBytes: typeof d.CapacityBytes === 'number' ? d.CapacityBytes : 0,
      });
    }
    return out;
  }
  async function bios(): Promise<Json> {
    const uri = idOf((await system()).Bios);
    if (!uri) throw fail('has no Bios resource for the system');
    return get(uri);
  }

  return {
    name: 'redfish',
    drives: async () => (await drives()).map(({ uri: _uri, ...d }) => d),
    async volumes() {
      const st = await storage();
      const ds = await drives(st);
      const coll = idOf(st.Volumes);
      if (!coll) return [];
      const out: Volume[] = [];
      for (const uri of links((await get(coll)).Members)) {
        const v = await get(uri);
        const level = LEVELS[String(v.RAIDType)];
        if (!level)
          throw fail(`reports volume ${uri} with RAIDType ${JSON.stringify(v.RAIDType)}, which anneal does not manage`);
        out.push({
          name: String(v.Name ?? v.Id ?? uri),
          level,
          drives: links(obj(v.Links).Drives)
            .map((u) => {
              const d = ds.find((x) => x.uri === u);
              return d ? diskId({ serial: d.serial, name: d.id }) : u;
            })
            .sort(),
          capacityBytes: typeof v.CapacityBytes === 'number' ? v.CapacityBytes : 0,
        });
      }
      return out;
    },
    async wipeVolumes() {
      const st = await storage();
      const target = obj(obj(st.Actions)['#Storage.ResetToDefaults']).target;
      if (typeof target !== 'string')
        throw fail('offers no #Storage.ResetToDefaults action to delete the volumes with');
      await call('POST', target, { ResetType: 'ResetAll' }).catch((e: unknown) => refused('deleting the volumes', e));
    },
    async createVolume(volume) {
      const st = await storage();
      const ds = await drives(st);
      const coll = idOf(st.Volumes);
      if (!coll) throw fail('has no Volumes collection to create volumes in');
      const members = volume.drives.map((id) => {
        const d = ds.find((x) => diskId({ serial: x.serial, name: x.id }) === id);
        if (!d) throw fail(`has no drive ${id} for volume ${volume.name}`);
        return { '@odata.id': d.uri };
      });
      await call('POST', coll, {
        Name: volume.name,
        RAIDType: toRaidType(volume.level),
        Links: { Drives: members },
      }).catch((e: unknown) => refused(`creating volume ${volume.name}`, e));
    },
    async biosAttributes() {
      const attrs = obj((await bios()).Attributes);
      const out: Record<string, BiosValue> = {};
      for (const [k, v] of Object.entries(attrs)) {
        if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
      }
      return out;
    },
    async setBios(changes) {
      const b = await bios();
      const settings = obj(b['@Redfish.Settings']);
      const target = idOf(settings.SettingsObject) ?? idOf(b);
      const times = Array.isArray(settings.SupportedApplyTimes) ? (settings.SupportedApplyTimes as unknown[]) : null;
      if (times && !times.includes('Immediate')) {
        throw fail(
          `applies BIOS settings only at ${times.join(', ')}; anneal applies them at once (Immediate) and does not reset the node for them yet`,
        );
      }
      await call('PATCH', target!, {
        Attributes: changes,
        '@Redfish.SettingsApplyTime': { ApplyTime: 'Immediate' },
      }).catch((e: unknown) => refused('setting BIOS attributes', e));
    },
  };
}
