/**
 * Network-boot installs (the provisioner, DESIGN §2 item 3). Pure: the states, the operating systems
 * the provisioner can install, and the record the store returns.
 */

/** Operating systems the provisioner renders install artifacts for. */
export const installOses = ['debian-12', 'ubuntu-24.04', 'rocky-9'] as const;
export type InstallOs = (typeof installOses)[number];

/**
 * requested (waiting for the node's next network boot) → booted (its iPXE script was served) →
 * config-fetched (the installer fetched its install config) → complete (the install-complete callback
 * came) | failed (superseded by a newer request).
 */
export const installStates = ['requested', 'booted', 'config-fetched', 'complete', 'failed'] as const;
export type InstallState = (typeof installStates)[number];

/** States in which the node's next network boot installs it. */
export const pendingInstallStates: readonly InstallState[] = ['requested', 'booted', 'config-fetched'];

export function isPendingInstall(state: InstallState): boolean {
  return pendingInstallStates.includes(state);
}

/** Network configuration of the boot NIC: DHCP, or the node's address with a prefix, gateway and resolvers. */
export type InstallNetwork =
  { mode: 'dhcp' } | { mode: 'static'; address: string; prefix: number; gateway: string; nameservers: string[] };

/** What an install renders from, fixed when it is requested (later attrib changes need a new request). */
export interface InstallParams {
  /** The node's name: its FQDN and hostname. */
  hostname: string;
  /** MAC of the NIC the node boots from (its first MAC). */
  mac: string;
  authorizedKeys: string[];
  packages: string[];
  network: InstallNetwork;
}

export interface InstallRecord {
  id: number;
  nodeId: number;
  os: InstallOs;
  state: InstallState;
  params: InstallParams;
  error: string | null;
  requestedBy: string;
  createdAt: number;
  updatedAt: number;
  bootedAt: number | null;
  configFetchedAt: number | null;
  completedAt: number | null;
}
