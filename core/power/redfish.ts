/**
 * The `redfish` power driver (DMTF Redfish): finds the node's ComputerSystem through the service root
 * (GET /redfish/v1/ → Systems → the first member, or the member with the configured id), reads its
 * PowerState, powers it with the ComputerSystem.Reset action and sets the next boot with a PATCH of
 * Boot {BootSourceOverrideTarget, BootSourceOverrideEnabled: Once}. Node built-ins only (node:http,
 * node:https); HTTP Basic auth with the target's username and password.
 *
 * Contract (core/power/driver.ts): every method succeeds or throws ERR_POWER_UNREACHABLE (no answer),
 * ERR_POWER_AUTH (401/403) or ERR_POWER_FAILED (the BMC answered with an error, or offers nothing that
 * does the action); messages name the node and the BMC address, never the password. `power('on')` on a
 * system that is On, and `power('off')` on one that is Off, send nothing (real BMCs often answer those
 * with 409). Calls to one BMC are serialized and spaced by the caller's keyed limits; nothing here retries.
 */
import { AppError } from '../errors';
import type { BmcTarget, BootDevice, PowerAction, PowerDriver, PowerState } from './driver';
import { bmcUrl, redfishRequest, type RedfishHttpOptions } from './redfish-http';
import { bootTarget, isOffStep, mapPowerState, planReset } from './redfish-plan';

export interface RedfishOptions extends Partial<RedfishHttpOptions> {
  /** The ComputerSystem to drive, by its Id (last segment of its URI); default: the first member of Systems. */
  systemId?: string;
  /**
   * How long `status` waits for a PoweringOn/PoweringOff transition to settle before it reports where the
   * system is heading, and how long a two-step reset (ForceOff, then On) waits for Off. Default 30 s.
   */
  settleTimeoutMs?: number;
  /** Poll interval while waiting (default 500 ms). */
  pollMs?: number;
}

type Json = Record<string, unknown>;

interface SystemView {
  uri: string;
  body: Json;
  etag: string | undefined;
}

const asJson = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const odataId = (v: unknown): string | undefined => {
  const id = asJson(v)['@odata.id'];
  return typeof id === 'string' && id.startsWith('/') ? id : undefined;
};
const strings = (v: unknown): string[] | undefined =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createRedfishDriver(opts: RedfishOptions = {}): PowerDriver {
  const http: RedfishHttpOptions = {
    protocol: opts.protocol ?? 'https',
    acceptSelfSignedCertificates: opts.acceptSelfSignedCertificates ?? false,
    timeoutMs: opts.timeoutMs ?? 20_000,
  };
  const settleMs = opts.settleTimeoutMs ?? 30_000;
  const pollMs = opts.pollMs ?? 500;
  /** ComputerSystem URI per BMC address; dropped when it answers 404. */
  const systems = new Map<string, string>();

  const failed = (t: BmcTarget, text: string, details: Json = {}) =>
    new AppError('ERR_POWER_FAILED', `the Redfish service of ${t.node}'s BMC at ${bmcUrl(t, http)} ${text}`, {
      details: { node: t.node, bmc: bmcUrl(t, http), ...details },
    });

  async function findSystem(t: BmcTarget): Promise<string> {
    const key = bmcUrl(t, http);
    const cached = systems.get(key);
    if (cached) return cached;
    const root = (await redfishRequest(t, http, 'GET', '/redfish/v1/')).body;
    const collection = odataId(asJson(root).Systems);
    if (!collection) throw failed(t, 'has no Systems collection in its service root: is this a Redfish service?');
    const members = (asJson((await redfishRequest(t, http, 'GET', collection)).body).Members ?? []) as unknown[];
    const uris = members.map(odataId).filter((u): u is string => u !== undefined);
    const want = opts.systemId;
    const uri =
      want === undefined
        ? uris[0]
        : uris.find((u) => decodeURIComponent(u.replace(/\/+$/, '').split('/').pop() ?? '') === want);
    if (!uri) {
      throw want === undefined
        ? failed(t, `lists no ComputerSystem in ${collection}: check that the BMC manages a server`)
        : failed(
            t,
            `has no ComputerSystem ${JSON.stringify(want)} (it has: ${uris.join(', ') || 'none'}): fix the configured system id`,
          );
    }
    systems.set(key, uri);
    return uri;
  }

  async function readSystem(t: BmcTarget): Promise<SystemView> {
    for (let attempt = 0; ; attempt++) {
      const uri = await findSystem(t);
      try {
        const res = await redfishRequest(t, http, 'GET', uri);
        const body = asJson(res.body);
        const etag = typeof res.headers.etag === 'string' ? res.headers.etag : (body['@odata.etag'] as string);
        return { uri, body, etag: typeof etag === 'string' ? etag : undefined };
      } catch (e) {
        // A cached URI that went away (BMC reset, firmware update): look it up again, once.
        if (attempt > 0 || !(e instanceof AppError) || (e.details as Json | undefined)?.status !== 404) throw e;
        systems.delete(bmcUrl(t, http));
      }
    }
  }

  function powerOf(t: BmcTarget, sys: SystemView): { state: PowerState; settled: boolean } {
    const p = mapPowerState(sys.body.PowerState);
    if (!p) throw failed(t, `answered an unknown PowerState ${JSON.stringify(sys.body.PowerState)} for ${sys.uri}`);
    return p;
  }

  async function resetTypesOf(t: BmcTarget, action: Json): Promise<string[] | undefined> {
    const inline = strings(action['ResetType@Redfish.AllowableValues']);
    if (inline) return inline;
    const info = action['@Redfish.ActionInfo'];
    if (typeof info !== 'string') return undefined;
    const params = asJson((await redfishRequest(t, http, 'GET', info)).body).Parameters;
    const p = Array.isArray(params) ? params.map(asJson).find((x) => x.Name === 'ResetType') : undefined;
    return strings(p?.AllowableValues);
  }

  async function waitOff(t: BmcTarget): Promise<void> {
    const deadline = Date.now() + settleMs;
    for (;;) {
      const p = powerOf(t, await readSystem(t));
      if (p.state === 'off' && p.settled) return;
      if (Date.now() > deadline) throw failed(t, `did not power ${t.node} off within ${settleMs} ms`);
      await sleep(pollMs);
    }
  }

  return {
    name: 'redfish',

    async status(t): Promise<PowerState> {
      const deadline = Date.now() + settleMs;
      for (;;) {
        const p = powerOf(t, await readSystem(t));
        // Still PoweringOn/PoweringOff after the wait: report where it is heading.
        if (p.settled || Date.now() > deadline) return p.state;
        await sleep(pollMs);
      }
    },

    async power(t, action: PowerAction): Promise<void> {
      const sys = await readSystem(t);
      const now = powerOf(t, sys);
      if (now.settled && ((action === 'on' && now.state === 'on') || (action === 'off' && now.state === 'off'))) return;
      const reset = asJson(asJson(sys.body.Actions)['#ComputerSystem.Reset']);
      const target = typeof reset.target === 'string' ? reset.target : undefined;
      if (!target)
        throw failed(
          t,
          `offers no ComputerSystem.Reset action on ${sys.uri}: the node cannot be powered through Redfish`,
        );
      const allowed = await resetTypesOf(t, reset);
      const steps = planReset(action, allowed);
      if (!steps) {
        throw failed(
          t,
          `allows only the reset types ${(allowed ?? []).join(', ')} on ${sys.uri}, none of which does "${action}": use another action or the ipmi driver`,
          { allowed },
        );
      }
      for (const [i, step] of steps.entries()) {
        const last = i === steps.length - 1;
        // A two-step cycle of a system that is already off starts at its second step.
        if (!last && isOffStep(step) && now.settled && now.state === 'off') continue;
        await redfishRequest(t, http, 'POST', target, { ResetType: step });
        if (!last && isOffStep(step)) await waitOff(t);
      }
    },

    async nextBoot(t, device: BootDevice): Promise<void> {
      const sys = await readSystem(t);
      const want = bootTarget(device);
      const allowed = strings(asJson(sys.body.Boot)['BootSourceOverrideTarget@Redfish.AllowableValues']);
      if (allowed && !allowed.includes(want)) {
        throw failed(t, `does not offer the boot target ${want} on ${sys.uri} (it offers: ${allowed.join(', ')})`, {
          allowed,
        });
      }
      await redfishRequest(
        t,
        http,
        'PATCH',
        sys.uri,
        { Boot: { BootSourceOverrideTarget: want, BootSourceOverrideEnabled: 'Once' } },
        sys.etag ? { 'If-Match': sys.etag } : {},
      );
    },
  };
}
