/**
 * Public types of the lab library (core/lab/index.ts). A lab is a set of virtual nodes on this host; each
 * is a network + mount + UTS namespace with its own sshd and an ipmi_sim BMC on loopback (docs/lab.md).
 */
import type { Logger } from '../log';

/** Faults `labFault` can inject; `labHeal` undoes them. */
export const LAB_FAULTS = ['sshd-down', 'link-down', 'bmc-down', 'slow-link'] as const;
export type LabFault = (typeof LAB_FAULTS)[number];

/** Which lab: its name (default `anneal`) and the state directory holding it (default /var/lib/anneal-lab). */
export interface LabRef {
  name?: string;
  stateDir?: string;
}

/** A node of a lab: its index (2) or its name (`n2.<lab>.lab`, or just `n2`). */
export type LabNodeRef = number | string;

export interface LabUpOptions extends LabRef {
  /** How many nodes (1–200). Nodes 1..N are ensured; nodes with a higher index are left alone. */
  nodes: number;
  /**
   * Where nodes announce themselves on first power-on (`POST <annealUrl>/provision/discover`). Must be an
   * `http://` URL on the lab's host address (the subnet's .1 unless `hostIp` says otherwise): nodes only
   * ever talk to the host bridge. Kept from the previous run when omitted; `null` turns discovery off.
   */
  annealUrl?: string | null;
  /**
   * The lab's IPv4 subnet: a private /16 to /24 with its host bits zero (`10.232.0.0/24`); the host is its
   * .1 and node i its network address + 10 + i. Default 10.231.0.0/24. Fixed when the lab is created; it
   * must not overlap another lab's subnet or a host interface's network (ERR_LAB_CONFLICT).
   */
  subnet?: string;
  /** The host's address on the lab bridge, inside `subnet` below the node addresses (default its .1, up to .10). */
  hostIp?: string;
  /**
   * BMC of node i listens on 127.0.0.1:(bmcBasePort + i)/udp. Default: the first free port block k (9000 +
   * 200k: 9000 for the first lab on a host). Fixed when the lab is created.
   */
  bmcBasePort?: number;
  /**
   * Redfish of node i listens on 127.0.0.1:(redfishBasePort + i)/tcp. Default: the first free port block k
   * (8000 + 200k). Fixed when the lab is created.
   */
  redfishBasePort?: number;
  /**
   * A shell command run on the host when a node powers on with next-boot = pxe (the network-boot install
   * path). Environment: NODE_DIR, NODE_NAME, NODE_IP, NODE_MACS, NODE_NETNS, INIT_PID, HOST_IP, ANNEAL_URL.
   * Without a hook, a lab with an `annealUrl` runs its built-in network boot (core/lab/pxe-install.cjs:
   * docs/provisioner.md).
   * Kept from the previous run when omitted; `null` removes it.
   */
  pxeHook?: string | null;
  /** Nodes created in parallel (default 8). */
  concurrency?: number;
  log: Logger;
}

/** One virtual disk: a sparse file on the host, seen by the node at `nodePath`. */
export interface LabDisk {
  name: string;
  path: string;
  nodePath: string;
  sizeBytes: number;
  serial: string;
  model: string;
}

export interface LabNic {
  name: 'eth0' | 'eth1';
  mac: string;
  ip: string | null;
}

export interface LabNodeStatus {
  /** `n<index>.<lab>.lab`: the node's hostname and its name in anneal. */
  name: string;
  index: number;
  ip: string;
  /** MACs of eth0 and eth1, in that order. */
  macs: string[];
  nics: LabNic[];
  netns: string;
  /** The host side of the node's veth, attached to the lab bridge. */
  hostVeth: string;
  bmc: { host: string; port: number; username: string; running: boolean };
  /**
   * The node's Redfish service (the lab's emulator, same user and password as its BMC). `running`: the
   * emulator listens on the port and the node has no `bmc-down` fault. Always set in what the lab
   * library returns (optional only because core/lab/node.ts builds the rest of this object).
   */
  redfish?: { host: string; port: number; username: string; running: boolean };
  power: 'on' | 'off';
  /** Next-boot device as the BMC reports it: `none`, `pxe`, `default`, … */
  bootDevice: string;
  sshdRunning: boolean;
  /** Pid of the process holding the node's namespaces, when it runs. */
  initPid: number | null;
  disks: LabDisk[];
  /** Faults injected with `labFault` and not yet healed. */
  faults: LabFault[];
  /** Namespace, init, link and BMC are all in place (faults aside); a healthy node may be off. */
  healthy: boolean;
}

export interface LabStatus {
  name: string;
  stateDir: string;
  labDir: string;
  bridge: string;
  /** The host's address on the lab bridge (the subnet's .1 by default): where nodes reach anneal. */
  hostIp: string;
  /** The lab's subnet (`10.231.0.0/24` unless the lab was made with another). */
  subnet: string;
  /** Node i's BMC is 127.0.0.1:(bmcBasePort + i)/udp, its Redfish service 127.0.0.1:(redfishBasePort + i)/tcp. */
  bmcBasePort: number;
  redfishBasePort: number;
  annealUrl: string | null;
  pxeHook: string | null;
  createdAt: string;
  nodes: LabNodeStatus[];
}

/** Secrets for anneal to manage a lab node. Never log these. */
export interface LabNodeCredentials {
  node: string;
  ssh: { host: string; port: number; username: string; privateKeyPath: string };
  bmc: { host: string; port: number; username: string; password: string };
  /** The node's Redfish service: plain http on loopback, the same user and password as `bmc`. */
  redfish: { host: string; port: number; username: string; password: string };
}

export interface LabDownResult {
  name: string;
  /** What was found and removed (sweep included); all zero when the lab did not exist. */
  removed: { namespaces: number; links: number; processes: number; mounts: number; stateDir: boolean };
}
