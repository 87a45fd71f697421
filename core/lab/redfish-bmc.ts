/**
 * The lab's Redfish BMC emulator: a stand-in for the Redfish service of a real BMC, one process per lab,
 * one HTTP listener per node on 127.0.0.1:<redfishPort>. It implements only what the `redfish` power
 * driver uses (ServiceRoot, the Systems collection, one ComputerSystem with PowerState and Boot, the
 * ComputerSystem.Reset action and its ActionInfo, PATCH of Boot) and what the hardware drivers use (Storage
 * with Drives and Volumes, Storage.ResetToDefaults, Bios and Bios/Settings) with DMTF-shaped resources and errors;
 * it is not a certified Redfish service (no sessions, no TLS, no EventService, no other resources).
 *
 * It changes the node's chassis exactly like ipmi_sim does, through
 * `<labDir>/bin/bmc-control.sh <nodeDir> get power|get boot|set power 1|…`, so powering off over Redfish
 * really stops the node's sshd. Run as a plain JavaScript copy in <labDir>/bin (core/lab/redfish.ts
 * installs and starts it): `anneal-lab-redfish <labDir>/bin/redfish-bmc.js <labDir>`. Node built-ins only.
 *
 * Contract:
 * - After every (re)load it writes <labDir>/redfish.ports, `{"pid", "ports"}`: the ports it listens on.
 * - Nodes, ports and credentials come from <labDir>/lab.json and the 0600 <labDir>/secrets.json (user
 *   REDFISH_USERNAME, the node's ipmi_sim password), read at start and again on SIGHUP (new nodes get a
 *   listener, removed ones lose it). Passwords are never logged and never in argv.
 * - Start: exits 1 when any port cannot be bound (the caller checked they were free). Reload: a port that
 *   cannot be bound is logged and skipped; the others keep serving. SIGTERM closes everything and exits 0.
 * - A node with the `bmc-down` fault does not answer: its connections are closed at once, like a dead BMC.
 * - Power and boot requests of one node run one at a time, in arrival order; bmc-control.sh also locks.
 *   A chassis command that fails answers 500 (the driver reports ERR_POWER_FAILED).
 *
 * It is also the lab's ACPI: the host-side half of a node's OS power commands. `reboot`, `poweroff`,
 * `halt`, `shutdown` and `systemctl reboot|poweroff` on a node are shims (node-power-shim.sh, seeded by
 * core/lab/node.ts) that write `reset` or `off` to the node's /run/anneal-lab/chassis-request. Every
 * WATCH_MS the emulator looks for that file through /proc/<init pid>/root (the node's own /run), takes
 * it (a regular file of a few bytes, opened without following links, then deleted), and runs
 * `bmc-control.sh <nodeDir> set reset 1` or `set power 0` in the node's queue: every process of the node
 * stops, and on reset the node boots again. A request of a node that is off is dropped. This works with
 * the `bmc-down` fault too: an OS reboot does not need the BMC.
 */
import { execFile } from 'node:child_process';
import { createHash, timingSafeEqual } from 'node:crypto';
import {
  closeSync,
  constants as fsc,
  existsSync,
  fstatSync,
  lstatSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import path from 'node:path';

const HOST = process.env.REDFISH_HOST ?? '127.0.0.1';
const USERNAME = process.env.REDFISH_USERNAME ?? 'admin';
const SYSTEM_ID = '1';
const MESSAGE_REGISTRY = 'Base.1.8.1';
const RESET_TYPES = ['On', 'ForceOff', 'GracefulShutdown', 'ForceRestart', 'PowerCycle'] as const;
const BOOT_TARGETS = ['None', 'Pxe', 'Hdd'] as const;
const BOOT_ENABLED = ['Once', 'Disabled'] as const;
const MAX_BODY = 64 * 1024;
/** How often the nodes' OS power requests are looked for. */
const WATCH_MS = 200;

interface EmuNode {
  index: number;
  name: string;
  port: number;
  dir: string;
  password: string;
  server: Server;
  /** Tail of this node's queue of chassis commands. */
  queue: Promise<unknown>;
  /** An OS power request of the node is being carried out. */
  acpiBusy: boolean;
}

type Json = Record<string, unknown>;

class RedfishError extends Error {
  constructor(
    readonly status: number,
    readonly id: string,
    message: string,
    readonly args: string[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const labDir = path.resolve(process.argv[2] ?? '');
const control = path.join(labDir, 'bin', 'bmc-control.sh');
const nodes = new Map<number, EmuNode>();

function log(line: string): void {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
}

/** Runs bmc-control.sh for one node; resolves with its stdout, rejects on a non-zero exit. */
function chassis(node: EmuNode, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      control,
      [node.dir, ...args],
      { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' }, timeout: 60_000 },
      (err, stdout) => {
        if (err) {
          log(`${node.name}: bmc-control ${args.join(' ')} failed: ${err.message.split('\n')[0]}`);
          reject(
            new RedfishError(
              500,
              'InternalError',
              `The request failed due to an internal service error: the chassis of ${node.name} did not carry out "${args.join(' ')}" (see its bmc/control.log). The service is still operational.`,
            ),
          );
        } else resolve(String(stdout));
      },
    );
  });
}

/** Queues a chassis change behind the node's earlier ones. */
function serial<T>(node: EmuNode, fn: () => Promise<T>): Promise<T> {
  const next = node.queue.then(fn, fn);
  node.queue = next.catch(() => undefined);
  return next;
}

async function powerState(node: EmuNode): Promise<'On' | 'Off'> {
  return /power:1/.test(await chassis(node, ['get', 'power'])) ? 'On' : 'Off';
}

async function bootOverride(node: EmuNode): Promise<{ enabled: string; target: string }> {
  const device = /boot:(\S+)/.exec(await chassis(node, ['get', 'boot']))?.[1] ?? 'none';
  if (device === 'pxe') return { enabled: 'Once', target: 'Pxe' };
  if (device === 'default') return { enabled: 'Once', target: 'Hdd' };
  return { enabled: 'Disabled', target: 'None' };
}

const systemsUri = '/redfish/v1/Systems';
const systemUri = `${systemsUri}/${SYSTEM_ID}`;
const resetUri = `${systemUri}/Actions/ComputerSystem.Reset`;
const resetInfoUri = `${systemUri}/ResetActionInfo`;

function serviceRoot(node: EmuNode): Json {
  return {
    '@odata.id': '/redfish/v1',
    '@odata.type': '#ServiceRoot.v1_5_0.ServiceRoot',
    Id: 'RootService',
    Name: 'Root Service',
    RedfishVersion: '1.6.0',
    UUID: uuidOf(node),
    Product: 'anneal lab Redfish BMC emulator (a stand-in, not a certified Redfish service)',
    Systems: { '@odata.id': systemsUri },
  };
}

function systemsCollection(): Json {
  return {
    '@odata.id': systemsUri,
    '@odata.type': '#ComputerSystemCollection.ComputerSystemCollection',
    Name: 'Computer System Collection',
    Members: [{ '@odata.id': systemUri }],
    'Members@odata.count': 1,
  };
}

async function computerSystem(node: EmuNode): Promise<Json> {
  const [power, boot] = await Promise.all([powerState(node), bootOverride(node)]);
  return {
    '@odata.id': systemUri,
    '@odata.type': '#ComputerSystem.v1_10_0.ComputerSystem',
    Id: SYSTEM_ID,
    Name: node.name,
    HostName: node.name,
    SystemType: 'Physical',
    Manufacturer: 'anneal lab',
    Model: 'lab node',
    UUID: uuidOf(node),
    PowerState: power,
    Status: { State: 'Enabled', Health: 'OK' },
    Boot: {
      BootSourceOverrideEnabled: boot.enabled,
      BootSourceOverrideTarget: boot.target,
      'BootSourceOverrideTarget@Redfish.AllowableValues': [...BOOT_TARGETS],
      'BootSourceOverrideEnabled@Redfish.AllowableValues': [...BOOT_ENABLED],
    },
    Storage: { '@odata.id': storageCollUri },
    Bios: { '@odata.id': biosUri },
    Actions: {
      '#ComputerSystem.Reset': {
        target: resetUri,
        'ResetType@Redfish.AllowableValues': [...RESET_TYPES],
        '@Redfish.ActionInfo': resetInfoUri,
      },
    },
  };
}

function resetActionInfo(): Json {
  return {
    '@odata.id': resetInfoUri,
    '@odata.type': '#ActionInfo.v1_1_2.ActionInfo',
    Id: 'ResetActionInfo',
    Name: 'Reset Action Info',
    Parameters: [{ Name: 'ResetType', Required: true, DataType: 'String', AllowableValues: [...RESET_TYPES] }],
  };
}

function uuidOf(node: EmuNode): string {
  const h = createHash('sha256').update(`${labDir}:${node.index}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

async function reset(node: EmuNode, body: Json): Promise<void> {
  if (!('ResetType' in body)) {
    throw new RedfishError(
      400,
      'ActionParameterMissing',
      'The action ComputerSystem.Reset requires the parameter ResetType to be present in the request body.',
      ['ComputerSystem.Reset', 'ResetType'],
    );
  }
  const type = body.ResetType;
  if (typeof type !== 'string' || !(RESET_TYPES as readonly string[]).includes(type)) {
    throw new RedfishError(
      400,
      'ActionParameterValueNotInList',
      `The value ${JSON.stringify(type)} for the parameter ResetType in the action ComputerSystem.Reset is not in the list of acceptable values (${RESET_TYPES.join(', ')}).`,
      [String(type), 'ResetType', 'ComputerSystem.Reset'],
    );
  }
  await serial(node, async () => {
    log(`${node.name}: reset ${type}`);
    switch (type) {
      case 'On':
        await chassis(node, ['set', 'power', '1']);
        break;
      case 'ForceOff':
        await chassis(node, ['set', 'power', '0']);
        break;
      case 'GracefulShutdown':
        await chassis(node, ['set', 'shutdown', '1']);
        break;
      case 'ForceRestart':
        await chassis(node, ['set', 'reset', '1']);
        break;
      case 'PowerCycle':
        await chassis(node, ['set', 'power', '0']);
        await chassis(node, ['set', 'power', '1']);
        break;
    }
  });
}

async function patchSystem(node: EmuNode, body: Json): Promise<void> {
  for (const key of Object.keys(body)) {
    if (key === 'Boot') continue;
    const known = ['Id', 'Name', 'PowerState', 'UUID', 'Status', 'Actions', 'HostName', 'SystemType'];
    throw known.includes(key) || key.startsWith('@odata.')
      ? new RedfishError(
          400,
          'PropertyNotWritable',
          `The property ${key} is a read only property and cannot be assigned a value.`,
          [key],
        )
      : new RedfishError(
          400,
          'PropertyUnknown',
          `The property ${key} is not in the list of valid properties for the resource.`,
          [key],
        );
  }
  const boot = body.Boot;
  if (boot === undefined) return;
  if (typeof boot !== 'object' || boot === null || Array.isArray(boot)) {
    throw new RedfishError(
      400,
      'PropertyValueTypeError',
      `The value ${JSON.stringify(boot)} for the property Boot is of a different type than the property can accept.`,
      [JSON.stringify(boot), 'Boot'],
    );
  }
  const b = boot as Json;
  for (const key of Object.keys(b)) {
    if (key !== 'BootSourceOverrideTarget' && key !== 'BootSourceOverrideEnabled') {
      throw new RedfishError(
        400,
        'PropertyUnknown',
        `The property Boot/${key} is not in the list of valid properties for the resource.`,
        [`Boot/${key}`],
      );
    }
  }
  const check = (key: string, allowed: readonly string[]): string | undefined => {
    const v = b[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !allowed.includes(v)) {
      throw new RedfishError(
        400,
        'PropertyValueNotInList',
        `The value ${JSON.stringify(v)} for the property Boot/${key} is not in the list of acceptable values (${allowed.join(', ')}).`,
        [String(v), `Boot/${key}`],
      );
    }
    return v;
  };
  const target = check('BootSourceOverrideTarget', BOOT_TARGETS);
  const enabled = check('BootSourceOverrideEnabled', BOOT_ENABLED);
  // The chassis knows one thing: the device of the next boot (pxe, default = disk, none).
  const device =
    enabled === 'Disabled' || target === 'None'
      ? 'none'
      : target === 'Pxe'
        ? 'pxe'
        : target === 'Hdd'
          ? 'default'
          : null;
  if (device === null) return;
  await serial(node, async () => {
    log(`${node.name}: next boot ${device}`);
    await chassis(node, ['set', 'boot', device]);
  });
}

function authorized(node: EmuNode, req: IncomingMessage): boolean {
  const m = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!m) return false;
  const text = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  const userOk = timingSafeEqual(digest(text.slice(0, colon)), digest(USERNAME));
  const passOk = timingSafeEqual(digest(text.slice(colon + 1)), digest(node.password));
  return userOk && passOk;
}

function readBody(req: IncomingMessage): Promise<Json> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new RedfishError(413, 'GeneralError', `The request body exceeds ${MAX_BODY} bytes.`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        const v: unknown = text.trim() === '' ? {} : JSON.parse(text);
        if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
        resolve(v as Json);
      } catch {
        reject(
          new RedfishError(
            400,
            'MalformedJSON',
            'The request body submitted was malformed JSON and could not be parsed by the receiving service.',
          ),
        );
      }
    });
  });
}

function send(res: ServerResponse, status: number, body?: Json, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'OData-Version': '4.0',
    'Cache-Control': 'no-cache',
    ...(body === undefined ? {} : { 'Content-Type': 'application/json; charset=utf-8' }),
    'Content-Length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

function errorBody(e: RedfishError): Json {
  const messageId = `${MESSAGE_REGISTRY}.${e.id}`;
  return {
    error: {
      code: messageId,
      message: e.message,
      '@Message.ExtendedInfo': [
        {
          '@odata.type': '#Message.v1_1_1.Message',
          MessageId: messageId,
          Message: e.message,
          MessageArgs: e.args,
          Severity: e.status >= 500 ? 'Critical' : 'Warning',
          Resolution: resolutionOf(e),
        },
      ],
    },
  };
}

function resolutionOf(e: RedfishError): string {
  if (e.status === 401) return 'Send HTTP Basic credentials the BMC accepts.';
  if (e.status === 404) return 'Use a URI this service lists (start at /redfish/v1).';
  if (e.status === 405) return 'Use one of the methods in the Allow header.';
  if (e.status >= 500) return "Retry the request; if it keeps failing, check the node's bmc/control.log.";
  return 'Correct the request body and resubmit the request.';
}

/** Which methods each resource allows; everything else under /redfish is 404. */
const ROUTES: Record<string, string[]> = {
  '/redfish': ['GET', 'HEAD'],
  '/redfish/v1': ['GET', 'HEAD'],
  [systemsUri]: ['GET', 'HEAD'],
  [systemUri]: ['GET', 'HEAD', 'PATCH'],
  [resetUri]: ['POST'],
  [resetInfoUri]: ['GET', 'HEAD'],
};

async function route(node: EmuNode, req: IncomingMessage): Promise<{ status: number; body?: Json }> {
  const method = req.method ?? 'GET';
  let uri = new URL(req.url ?? '/', 'http://bmc').pathname.replace(/\/+$/, '');
  if (uri === '') uri = '/';
  // The service root (and /redfish) answer without credentials, as the specification requires.
  if ((uri === '/redfish' || uri === '/redfish/v1') && (method === 'GET' || method === 'HEAD')) {
    return { status: 200, body: uri === '/redfish' ? { v1: '/redfish/v1/' } : serviceRoot(node) };
  }
  if (!authorized(node, req)) {
    throw new RedfishError(
      401,
      'ResourceAtUriUnauthorized',
      `While accessing the resource at ${uri}, the service received an authorization error: invalid username or password.`,
      [uri, 'invalid username or password'],
      { 'WWW-Authenticate': 'Basic realm="Redfish"' },
    );
  }
  const hardware = await hardwareRoute(node, method, uri, req);
  if (hardware) return hardware;
  const allowed = ROUTES[uri];
  if (!allowed) {
    if (method === 'POST' && uri.startsWith(`${systemUri}/Actions/`)) {
      const action = uri.slice(`${systemUri}/Actions/`.length);
      throw new RedfishError(400, 'ActionNotSupported', `The action ${action} is not supported by the resource.`, [
        action,
      ]);
    }
    throw new RedfishError(404, 'ResourceMissingAtURI', `The resource at the URI ${uri} was not found.`, [uri]);
  }
  if (!allowed.includes(method)) {
    throw new RedfishError(
      405,
      'OperationNotAllowed',
      `The HTTP method ${method} is not allowed on ${uri}.`,
      [method, uri],
      { Allow: allowed.join(', ') },
    );
  }
  if (uri === systemsUri) return { status: 200, body: systemsCollection() };
  if (uri === resetInfoUri) return { status: 200, body: resetActionInfo() };
  if (uri === systemUri && method === 'PATCH') {
    await patchSystem(node, await readBody(req));
    return { status: 200, body: await computerSystem(node) };
  }
  if (uri === systemUri) return { status: 200, body: await computerSystem(node) };
  await reset(node, await readBody(req));
  return { status: 204 };
}

// ---------------------------------------------------------------------------------------------------------
// Storage and Bios: the lab's stand-in for a RAID controller and a BIOS behind the BMC (raid-configure and
// bios-configure drive them through core/hardware/redfish.ts; docs/lab.md lists what is emulated). The
// drives are the node's virtual disks, from its hardware file (<nodeDir>/upper/etc/anneal-lab/hardware.json).
// Volumes and BIOS attributes persist in <nodeDir>/redfish-storage.json and <nodeDir>/redfish-bios.json, so
// they survive power cycles and emulator restarts, and go with `lab down`. BIOS changes apply at once
// (SupportedApplyTimes: Immediate); there is no pending state to reboot into.
// ---------------------------------------------------------------------------------------------------------
const storageCollUri = `${systemUri}/Storage`;
const storageUri = `${storageCollUri}/1`;
const drivesUri = `${storageUri}/Drives`;
const volumesUri = `${storageUri}/Volumes`;
const storageResetUri = `${storageUri}/Actions/Storage.ResetToDefaults`;
const biosUri = `${systemUri}/Bios`;
const biosSettingsUri = `${biosUri}/Settings`;

/** RAID types the virtual controller builds, with their member counts (`None` is a pass-through disk). */
const RAID_TYPES: Record<string, { min: number; max: number; even?: boolean }> = {
  RAID0: { min: 1, max: 64 },
  RAID1: { min: 2, max: 2 },
  RAID5: { min: 3, max: 64 },
  RAID6: { min: 4, max: 64 },
  RAID10: { min: 4, max: 64, even: true },
  None: { min: 1, max: 1 },
};

type BiosValue = string | number | boolean;
/** The virtual BIOS: its attributes, their factory values and what each accepts (a list, or any string). */
const BIOS_DEFAULTS: Record<string, BiosValue> = {
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
const ENABLED = ['Enabled', 'Disabled'];
const BIOS_ALLOWED: Record<string, readonly string[] | 'string'> = {
  AssetTag: 'string',
  BootMode: ['Uefi', 'Bios'],
  MemTest: ENABLED,
  NumLock: ['On', 'Off'],
  ProcCStates: ENABLED,
  ProcHyperthreading: ENABLED,
  ProcVirtualization: ENABLED,
  PxeDev1EnDis: ENABLED,
  SecureBoot: ENABLED,
  SerialComm: ['Off', 'OnConRedirCom1', 'OnConRedirCom2'],
  SriovGlobalEnable: ENABLED,
  SysProfile: ['PerfPerWattOptimizedDapc', 'PerfOptimized', 'Custom'],
};

interface EmuDrive {
  id: string;
  serial: string;
  model: string;
  sizeBytes: number;
}
interface EmuVolume {
  id: string;
  name: string;
  raidType: string;
  drives: string[];
}
interface StorageState {
  volumes: EmuVolume[];
  nextId: number;
}

function drivesOf(node: EmuNode): EmuDrive[] {
  try {
    const hw = JSON.parse(readFileSync(path.join(node.dir, 'upper/etc/anneal-lab/hardware.json'), 'utf8')) as {
      disks?: { name?: unknown; serial?: unknown; model?: unknown; sizeBytes?: unknown }[];
    };
    return (hw.disks ?? [])
      .filter((d) => typeof d.name === 'string' && /^[A-Za-z0-9_.-]+$/.test(d.name) && typeof d.sizeBytes === 'number')
      .map((d) => ({
        id: String(d.name),
        serial: typeof d.serial === 'string' ? d.serial : '',
        model: typeof d.model === 'string' ? d.model : '',
        sizeBytes: Number(d.sizeBytes),
      }));
  } catch {
    return [];
  }
}

function readState<T>(file: string, fallback: T): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return fallback;
  }
}

function writeState(file: string, value: unknown): void {
  writeFileSync(`${file}.tmp`, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

const storageFile = (node: EmuNode) => path.join(node.dir, 'redfish-storage.json');
const biosFile = (node: EmuNode) => path.join(node.dir, 'redfish-bios.json');
const storageOf = (node: EmuNode) => readState<StorageState>(storageFile(node), { volumes: [], nextId: 1 });
const biosOf = (node: EmuNode): Record<string, BiosValue> => ({
  ...BIOS_DEFAULTS,
  ...readState<{ attributes?: Record<string, BiosValue> }>(biosFile(node), {}).attributes,
});

function capacityOf(raidType: string, sizes: number[]): number {
  if (sizes.length === 0) return 0;
  const min = Math.min(...sizes);
  const n = sizes.length;
  if (raidType === 'RAID0') return n * min;
  if (raidType === 'RAID1') return min;
  if (raidType === 'RAID5') return (n - 1) * min;
  if (raidType === 'RAID6') return (n - 2) * min;
  if (raidType === 'RAID10') return (n / 2) * min;
  return sizes[0] as number;
}

const link = (uri: string) => ({ '@odata.id': uri });

function driveBody(d: EmuDrive): Json {
  return {
    '@odata.id': `${drivesUri}/${d.id}`,
    '@odata.type': '#Drive.v1_9_0.Drive',
    Id: d.id,
    Name: d.id,
    SerialNumber: d.serial,
    Model: d.model,
    CapacityBytes: d.sizeBytes,
    MediaType: 'HDD',
    Protocol: 'SATA',
    Status: { State: 'Enabled', Health: 'OK' },
  };
}

function volumeBody(v: EmuVolume, drives: EmuDrive[]): Json {
  const sizes = v.drives.map((id) => drives.find((d) => d.id === id)?.sizeBytes ?? 0);
  return {
    '@odata.id': `${volumesUri}/${v.id}`,
    '@odata.type': '#Volume.v1_6_0.Volume',
    Id: v.id,
    Name: v.name,
    RAIDType: v.raidType,
    CapacityBytes: capacityOf(v.raidType, sizes),
    Status: { State: 'Enabled', Health: 'OK' },
    Links: { Drives: v.drives.map((id) => link(`${drivesUri}/${id}`)) },
  };
}

function storageBody(node: EmuNode): Json {
  const drives = drivesOf(node);
  return {
    '@odata.id': storageUri,
    '@odata.type': '#Storage.v1_13_0.Storage',
    Id: '1',
    Name: 'anneal lab virtual RAID controller',
    Drives: drives.map((d) => link(`${drivesUri}/${d.id}`)),
    'Drives@odata.count': drives.length,
    Volumes: link(volumesUri),
    StorageControllers: [
      {
        '@odata.id': `${storageUri}#/StorageControllers/0`,
        MemberId: '0',
        Name: 'anneal lab virtual controller',
        SupportedRAIDTypes: Object.keys(RAID_TYPES),
        Status: { State: 'Enabled', Health: 'OK' },
      },
    ],
    Actions: {
      '#Storage.ResetToDefaults': {
        target: storageResetUri,
        'ResetType@Redfish.AllowableValues': ['ResetAll', 'PreserveVolumes'],
      },
    },
  };
}

function badValue(value: unknown, prop: string, allowed?: readonly string[]): RedfishError {
  return new RedfishError(
    400,
    'PropertyValueNotInList',
    `The value ${JSON.stringify(value)} for the property ${prop} is not in the list of acceptable values${allowed ? ` (${allowed.join(', ')})` : ''}.`,
    [JSON.stringify(value), prop],
  );
}

function createVolume(node: EmuNode, body: Json): Json {
  for (const key of Object.keys(body)) {
    if (!['Name', 'RAIDType', 'Links', 'VolumeType'].includes(key) && !key.startsWith('@')) {
      throw new RedfishError(
        400,
        'PropertyUnknown',
        `The property ${key} is not in the list of valid properties for the resource.`,
        [key],
      );
    }
  }
  const name = body.Name;
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
    throw name === undefined
      ? new RedfishError(
          400,
          'PropertyMissing',
          'The property Name is a required property and must be included in the request.',
          ['Name'],
        )
      : badValue(name, 'Name');
  }
  const raidType = body.RAIDType;
  const spec = typeof raidType === 'string' ? RAID_TYPES[raidType] : undefined;
  if (!spec) throw badValue(raidType, 'RAIDType', Object.keys(RAID_TYPES));
  const links = (body.Links ?? {}) as Json;
  const wanted = Array.isArray(links.Drives) ? (links.Drives as unknown[]) : null;
  if (!wanted) {
    throw new RedfishError(
      400,
      'PropertyMissing',
      'The property Links/Drives is a required property and must be included in the request.',
      ['Links/Drives'],
    );
  }
  const drives = drivesOf(node);
  const state = storageOf(node);
  const ids: string[] = [];
  for (const w of wanted) {
    const uri = typeof w === 'object' && w !== null ? (w as Json)['@odata.id'] : undefined;
    const id = typeof uri === 'string' && uri.startsWith(`${drivesUri}/`) ? uri.slice(drivesUri.length + 1) : '';
    if (!drives.some((d) => d.id === id) || ids.includes(id)) throw badValue(uri ?? w, 'Links/Drives');
    const user = state.volumes.find((v) => v.drives.includes(id));
    if (user) {
      throw new RedfishError(
        400,
        'ResourceInUse',
        `The change to the requested resource failed because the resource is in use or in transition: drive ${id} belongs to volume ${user.name}.`,
        [],
      );
    }
    ids.push(id);
  }
  if (ids.length < spec.min || ids.length > spec.max || (spec.even && ids.length % 2 !== 0)) {
    throw new RedfishError(
      400,
      'PropertyValueIncorrect',
      `The property Links/Drives with the requested value of ${ids.length} drive(s) could not be written because the value does not meet the constraints of ${String(raidType)}.`,
      ['Links/Drives', String(ids.length)],
    );
  }
  if (state.volumes.some((v) => v.name === name)) {
    throw new RedfishError(
      400,
      'ResourceAlreadyExists',
      `The requested resource already exists: a volume is named ${name}.`,
      ['Volume', 'Name', name],
    );
  }
  const volume: EmuVolume = { id: String(state.nextId), name, raidType: String(raidType), drives: ids };
  writeState(storageFile(node), { volumes: [...state.volumes, volume], nextId: state.nextId + 1 });
  log(`${node.name}: volume ${volume.id} ${name} ${volume.raidType} on ${ids.join(',')}`);
  return volumeBody(volume, drives);
}

function resetStorage(node: EmuNode, body: Json): void {
  const type = body.ResetType;
  if (type !== 'ResetAll' && type !== 'PreserveVolumes')
    throw badValue(type, 'ResetType', ['ResetAll', 'PreserveVolumes']);
  if (type === 'ResetAll') {
    writeState(storageFile(node), { volumes: [], nextId: storageOf(node).nextId });
    log(`${node.name}: storage reset to defaults (volumes deleted)`);
  }
}

function biosBody(node: EmuNode): Json {
  return {
    '@odata.id': biosUri,
    '@odata.type': '#Bios.v1_1_0.Bios',
    Id: 'Bios',
    Name: 'BIOS Configuration Current Settings',
    AttributeRegistry: 'AnnealLabBiosAttributeRegistry.1.0.0',
    Attributes: biosOf(node),
    '@Redfish.Settings': {
      '@odata.type': '#Settings.v1_3_0.Settings',
      SettingsObject: link(biosSettingsUri),
      SupportedApplyTimes: ['Immediate'],
    },
  };
}

function patchBios(node: EmuNode, body: Json): void {
  for (const key of Object.keys(body)) {
    if (key !== 'Attributes' && key !== '@Redfish.SettingsApplyTime') {
      throw new RedfishError(
        400,
        'PropertyUnknown',
        `The property ${key} is not in the list of valid properties for the resource.`,
        [key],
      );
    }
  }
  const apply = (body['@Redfish.SettingsApplyTime'] ?? {}) as Json;
  if (apply.ApplyTime !== undefined && apply.ApplyTime !== 'Immediate') {
    throw badValue(apply.ApplyTime, '@Redfish.SettingsApplyTime/ApplyTime', ['Immediate']);
  }
  const attrs = body.Attributes;
  if (typeof attrs !== 'object' || attrs === null || Array.isArray(attrs)) {
    throw new RedfishError(
      400,
      'PropertyValueTypeError',
      `The value ${JSON.stringify(attrs)} for the property Attributes is of a different type than the property can accept.`,
      [JSON.stringify(attrs), 'Attributes'],
    );
  }
  const changes = attrs as Record<string, unknown>;
  for (const [k, v] of Object.entries(changes)) {
    const allowed = BIOS_ALLOWED[k];
    if (!allowed) {
      throw new RedfishError(
        400,
        'PropertyUnknown',
        `The property Attributes/${k} is not in the list of valid properties for the resource.`,
        [`Attributes/${k}`],
      );
    }
    if (typeof v !== 'string') {
      throw new RedfishError(
        400,
        'PropertyValueTypeError',
        `The value ${JSON.stringify(v)} for the property Attributes/${k} is of a different type than the property can accept.`,
        [JSON.stringify(v), `Attributes/${k}`],
      );
    }
    if (allowed === 'string' ? v.length > 63 : !allowed.includes(v)) {
      throw badValue(v, `Attributes/${k}`, allowed === 'string' ? undefined : allowed);
    }
  }
  const current = readState<{ attributes?: Record<string, BiosValue> }>(biosFile(node), {}).attributes ?? {};
  writeState(biosFile(node), { attributes: { ...current, ...(changes as Record<string, BiosValue>) } });
  log(`${node.name}: BIOS attributes set: ${Object.keys(changes).join(', ') || 'none'}`);
}

function notAllowed(method: string, uri: string, allowed: string[]): RedfishError {
  return new RedfishError(
    405,
    'OperationNotAllowed',
    `The HTTP method ${method} is not allowed on ${uri}.`,
    [method, uri],
    {
      Allow: allowed.join(', '),
    },
  );
}

/** The Storage and Bios resources; null for any other URI (the caller routes it). */
async function hardwareRoute(
  node: EmuNode,
  method: string,
  uri: string,
  req: IncomingMessage,
): Promise<{ status: number; body?: Json } | null> {
  const read = method === 'GET' || method === 'HEAD';
  const only = (allowed: string[]) => {
    if (!allowed.includes(method)) throw notAllowed(method, uri, allowed);
  };
  if (uri === storageCollUri) {
    only(['GET', 'HEAD']);
    return {
      status: 200,
      body: {
        '@odata.id': storageCollUri,
        '@odata.type': '#StorageCollection.StorageCollection',
        Name: 'Storage Collection',
        Members: [link(storageUri)],
        'Members@odata.count': 1,
      },
    };
  }
  if (uri === storageUri) {
    only(['GET', 'HEAD']);
    return { status: 200, body: storageBody(node) };
  }
  if (uri.startsWith(`${drivesUri}/`)) {
    const d = drivesOf(node).find((x) => `${drivesUri}/${x.id}` === uri);
    if (!d) return null;
    only(['GET', 'HEAD']);
    return { status: 200, body: driveBody(d) };
  }
  if (uri === volumesUri) {
    only(['GET', 'HEAD', 'POST']);
    if (!read) return { status: 201, body: createVolume(node, await readBody(req)) };
    const vols = storageOf(node).volumes;
    return {
      status: 200,
      body: {
        '@odata.id': volumesUri,
        '@odata.type': '#VolumeCollection.VolumeCollection',
        Name: 'Volume Collection',
        Members: vols.map((v) => link(`${volumesUri}/${v.id}`)),
        'Members@odata.count': vols.length,
      },
    };
  }
  if (uri.startsWith(`${volumesUri}/`)) {
    const v = storageOf(node).volumes.find((x) => `${volumesUri}/${x.id}` === uri);
    if (!v) return null;
    only(['GET', 'HEAD']);
    return { status: 200, body: volumeBody(v, drivesOf(node)) };
  }
  if (uri === storageResetUri) {
    only(['POST']);
    resetStorage(node, await readBody(req));
    return { status: 204 };
  }
  if (uri === biosUri) {
    only(['GET', 'HEAD']);
    return { status: 200, body: biosBody(node) };
  }
  if (uri === biosSettingsUri) {
    only(['GET', 'HEAD', 'PATCH']);
    if (method === 'PATCH') {
      patchBios(node, await readBody(req));
      return { status: 204 };
    }
    return {
      status: 200,
      body: {
        '@odata.id': biosSettingsUri,
        '@odata.type': '#Bios.v1_1_0.Bios',
        Id: 'Settings',
        Name: 'BIOS Configuration Pending Settings',
        AttributeRegistry: 'AnnealLabBiosAttributeRegistry.1.0.0',
        Attributes: {},
      },
    };
  }
  return null;
}

function handle(node: EmuNode, req: IncomingMessage, res: ServerResponse): void {
  if (existsSync(path.join(node.dir, 'faults', 'bmc-down'))) {
    req.socket.destroy();
    return;
  }
  route(node, req).then(
    ({ status, body }) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') log(`${node.name}: ${req.method} ${req.url} → ${status}`);
      send(res, status, req.method === 'HEAD' ? undefined : body);
    },
    (e: unknown) => {
      const err =
        e instanceof RedfishError
          ? e
          : new RedfishError(500, 'InternalError', 'The request failed due to an internal service error.');
      if (!(e instanceof RedfishError)) log(`${node.name}: ${req.method} ${req.url}: ${(e as Error).message}`);
      if (err.status !== 401) log(`${node.name}: ${req.method} ${req.url} → ${err.status} ${err.id}`);
      send(res, err.status, errorBody(err), err.headers);
    },
  );
}

/** The pid of the node's init when it runs (checked by its argv, as bmc-control.sh does), else null. */
function initPidOf(node: EmuNode): number | null {
  try {
    const pid = Number(readFileSync(path.join(node.dir, 'init.pid'), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return null;
    const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
    return argv0 === `anneal-lab-init ${node.dir}` ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Takes the node's OS power request: `reset`, `off`, null (none), or `bad` (anything else, dropped). The
 * node's root owns that file, so it is read as untrusted input: the directory must be a directory, the
 * file is opened without following a link and without blocking (a FIFO), and must be a small regular file.
 */
function takeRequest(init: number): 'reset' | 'off' | 'bad' | null {
  const dir = `/proc/${init}/root/run/anneal-lab`;
  const file = `${dir}/chassis-request`;
  let fd: number;
  try {
    if (!lstatSync(dir).isDirectory()) return null;
    fd = openSync(file, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  } catch {
    return null;
  }
  let text = '';
  try {
    const st = fstatSync(fd);
    if (st.isFile() && st.size <= 64) {
      const buf = Buffer.alloc(64);
      text = buf
        .subarray(0, readSync(fd, buf, 0, 64, 0))
        .toString('utf8')
        .trim();
    }
  } catch {
    /* unreadable: dropped */
  } finally {
    closeSync(fd);
  }
  try {
    unlinkSync(file);
  } catch {
    /* gone already */
  }
  return text === 'reset' || text === 'off' ? text : 'bad';
}

/** One look at every node for an OS power request; carries it out like ACPI would. */
function watchAcpi(): void {
  for (const node of nodes.values()) {
    if (node.acpiBusy) continue;
    const init = initPidOf(node);
    if (init === null) continue;
    const request = takeRequest(init);
    if (request === null) continue;
    if (request === 'bad') {
      log(`${node.name}: OS power request ignored: not "reset" or "off"`);
      continue;
    }
    let power = '';
    try {
      power = readFileSync(path.join(node.dir, 'power'), 'utf8').trim();
    } catch {
      /* no power file: off */
    }
    if (power !== '1') {
      log(`${node.name}: OS power request ${request} ignored: the node is off`);
      continue;
    }
    node.acpiBusy = true;
    log(`${node.name}: OS requested ${request === 'reset' ? 'a reboot' : 'power off'}`);
    serial(node, () => chassis(node, request === 'reset' ? ['set', 'reset', '1'] : ['set', 'power', '0']))
      .catch(() => undefined) // chassis() logged it
      .finally(() => (node.acpiBusy = false));
  }
}

interface LabJson {
  nodes: { index: number; name: string; redfishPort?: number }[];
}

/** (Re)reads lab.json and secrets.json and makes the listeners match. Resolves false when a port failed. */
async function load(): Promise<boolean> {
  const lab = JSON.parse(readFileSync(path.join(labDir, 'lab.json'), 'utf8')) as LabJson;
  const secrets = JSON.parse(readFileSync(path.join(labDir, 'secrets.json'), 'utf8')) as {
    bmcPasswords: Record<string, string>;
  };
  const wanted = new Set<number>();
  let ok = true;
  const listening: Promise<void>[] = [];
  for (const n of lab.nodes) {
    const password = secrets.bmcPasswords[String(n.index)];
    if (typeof n.redfishPort !== 'number' || !password) continue;
    wanted.add(n.index);
    const have = nodes.get(n.index);
    if (have && have.port === n.redfishPort) {
      have.password = password;
      continue;
    }
    if (have) await new Promise((r) => have.server.close(r));
    const node: EmuNode = {
      index: n.index,
      name: n.name,
      port: n.redfishPort,
      dir: path.join(labDir, 'nodes', `n${n.index}`),
      password,
      server: createServer(),
      queue: Promise.resolve(),
      acpiBusy: false,
    };
    node.server.on('request', (req: IncomingMessage, res: ServerResponse) => handle(node, req, res));
    node.server.keepAliveTimeout = 5000;
    nodes.set(n.index, node);
    listening.push(
      new Promise((resolve) => {
        node.server.once('error', (e: Error) => {
          log(`${node.name}: cannot listen on ${HOST}:${node.port}: ${e.message}`);
          nodes.delete(node.index);
          ok = false;
          resolve();
        });
        node.server.listen(node.port, HOST, () => {
          log(`${node.name}: listening on http://${HOST}:${node.port}`);
          resolve();
        });
      }),
    );
  }
  for (const [index, node] of nodes) {
    if (!wanted.has(index)) {
      node.server.close();
      nodes.delete(index);
      log(`${node.name}: removed`);
    }
  }
  await Promise.all(listening);
  const file = path.join(labDir, 'redfish.ports');
  const ports = [...nodes.values()].map((n) => n.port).sort((a, b) => a - b);
  writeFileSync(`${file}.tmp`, `${JSON.stringify({ pid: process.pid, ports })}\n`);
  renameSync(`${file}.tmp`, file);
  return ok;
}

function main(): void {
  if (!existsSync(path.join(labDir, 'lab.json'))) {
    log(`usage: redfish-bmc.js <labDir> (no lab.json in ${JSON.stringify(labDir)})`);
    process.exit(2);
  }
  process.on('SIGHUP', () => {
    log('reload');
    load().catch((e: Error) => log(`reload failed: ${e.message}`));
  });
  process.on('SIGTERM', () => {
    for (const n of nodes.values()) n.server.close();
    process.exit(0);
  });
  load().then(
    (ok) => {
      if (!ok) process.exit(1);
      setInterval(watchAcpi, WATCH_MS);
      log(`ready: ${nodes.size} node(s)`);
    },
    (e: Error) => {
      log(`cannot start: ${e.message}`);
      process.exit(1);
    },
  );
}

main();
