/**
 * Pure parts of the `redfish` power driver: which ResetType requests carry out a power action on a BMC
 * that offers a given set of them, how a Redfish PowerState maps onto ours, and the text of a Redfish
 * error body. No I/O here; core/power/redfish.ts does the requests.
 */
import type { BootDevice, PowerAction, PowerState } from './driver';

/** ComputerSystem.ResetType values (DMTF Resource.ResetType) this driver may send. */
export type ResetType =
  'On' | 'ForceOn' | 'ForceOff' | 'GracefulShutdown' | 'ForceRestart' | 'GracefulRestart' | 'PowerCycle';

/** What to do for one action, tried in order until one fits what the BMC allows. */
const PLANS: Record<PowerAction, ResetType[][]> = {
  // Each inner list is one way to do it: its steps, run in order (waiting for Off after an off step).
  on: [['On'], ['ForceOn']],
  off: [['ForceOff'], ['GracefulShutdown']],
  cycle: [['PowerCycle'], ['ForceOff', 'On'], ['GracefulShutdown', 'On']],
  reset: [['ForceRestart'], ['GracefulRestart'], ['PowerCycle'], ['ForceOff', 'On']],
};

/**
 * The ResetType steps for `action`, given the values the BMC advertises (`ResetType@Redfish.AllowableValues`
 * or its ActionInfo). When it advertises none, the first plan is used as is. Returns null when no plan fits
 * (the caller reports ERR_POWER_FAILED with the allowed values).
 */
export function planReset(action: PowerAction, allowable?: readonly string[] | null): ResetType[] | null {
  const plans = PLANS[action];
  if (!allowable || allowable.length === 0) return plans[0] as ResetType[];
  return plans.find((steps) => steps.every((s) => allowable.includes(s))) ?? null;
}

/** True for a step after which the system must be Off before the next step is sent. */
export function isOffStep(step: ResetType): boolean {
  return step === 'ForceOff' || step === 'GracefulShutdown';
}

/**
 * Our view of a Redfish PowerState: `settled` is false while the BMC reports a transition (PoweringOn /
 * PoweringOff), and `state` is then where it is heading. Paused counts as on. Unknown values give null.
 */
export function mapPowerState(value: unknown): { state: PowerState; settled: boolean } | null {
  switch (value) {
    case 'On':
    case 'Paused':
      return { state: 'on', settled: true };
    case 'Off':
      return { state: 'off', settled: true };
    case 'PoweringOn':
      return { state: 'on', settled: false };
    case 'PoweringOff':
      return { state: 'off', settled: false };
    default:
      return null;
  }
}

/** The Redfish BootSourceOverrideTarget for a boot device. */
export function bootTarget(device: BootDevice): 'Pxe' | 'Hdd' {
  return device === 'pxe' ? 'Pxe' : 'Hdd';
}

/**
 * The human text of a Redfish error body (`error.message` and each `@Message.ExtendedInfo[].Message`,
 * without repeats), or '' when the body is not a Redfish error. Also reads ExtendedInfo at the top level,
 * which some BMCs send with action responses.
 */
export function redfishErrorText(body: unknown): string {
  if (typeof body !== 'object' || body === null) return '';
  const texts: string[] = [];
  const add = (v: unknown) => {
    if (typeof v === 'string' && v.trim() && !texts.includes(v.trim())) texts.push(v.trim());
  };
  const fromInfo = (info: unknown) => {
    if (Array.isArray(info)) for (const m of info) add((m as { Message?: unknown } | null)?.Message);
  };
  const err = (body as { error?: unknown }).error;
  if (typeof err === 'object' && err !== null) {
    const e = err as { message?: unknown; code?: unknown; '@Message.ExtendedInfo'?: unknown };
    add(e.message);
    fromInfo(e['@Message.ExtendedInfo']);
    if (texts.length === 0) add(e.code);
  }
  fromInfo((body as { '@Message.ExtendedInfo'?: unknown })['@Message.ExtendedInfo']);
  return texts.join(' ');
}
