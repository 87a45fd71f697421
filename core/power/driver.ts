/**
 * Hammers: out-of-graph node drivers (DESIGN §5). A power driver reads and changes a node's power
 * and next boot device. Contract: every method either succeeds or throws an AppError —
 * ERR_POWER_UNREACHABLE (operational: the BMC did not answer), ERR_POWER_AUTH (user: credentials
 * rejected), ERR_POWER_FAILED (operational: the BMC answered with an error).
 */
export type PowerState = 'on' | 'off';
export type BootDevice = 'pxe' | 'disk';
export type PowerAction = 'on' | 'off' | 'cycle' | 'reset';

export interface BmcTarget {
  /** Node name, for messages. */
  node: string;
  host: string;
  port: number;
  username: string;
  /** Secret: passed to the tool through its environment, never on a command line or in a log. */
  password: string;
}

export interface PowerDriver {
  readonly name: 'ipmi' | 'redfish' | 'ssh';
  status(target: BmcTarget): Promise<PowerState>;
  power(target: BmcTarget, action: PowerAction): Promise<void>;
  nextBoot(target: BmcTarget, device: BootDevice): Promise<void>;
}
