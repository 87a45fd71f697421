/**
 * Hardware drivers (DESIGN §2 hardware-configured, §5): one interface for a node's RAID controller and BIOS,
 * whatever reaches them. `redfish` talks to the BMC out of band (core/hardware/redfish.ts: DMTF Storage,
 * Volumes, Bios, Bios/Settings); `lab` edits the lab node's virtual controller and BIOS in band, as a vendor
 * tool on the node would (core/hardware/lab.ts). Contract: every method succeeds or throws an AppError:
 * ERR_COMMAND_FAILED (user: the controller or BIOS refused the request, or has nothing to drive), or the
 * transport's operational errors (ERR_POWER_UNREACHABLE, ERR_POWER_FAILED, ERR_REMOTE_UNREACHABLE, …),
 * which the annealer retries.
 */
import type { BiosValue } from '../domain/bios-plan';
import type { Volume } from '../domain/raid-plan';

export const hardwareDriverNames = ['redfish', 'lab'] as const;
export type HardwareDriverName = (typeof hardwareDriverNames)[number];

/** A physical disk as the controller lists it. */
export interface ControllerDrive {
  /** The controller's own id for the drive (Redfish Drive Id; the lab disk's name). */
  id: string;
  serial: string;
  model: string;
  sizeBytes: number;
}

export interface HardwareDriver {
  readonly name: HardwareDriverName;
  /** The controller's drives. */
  drives(): Promise<ControllerDrive[]>;
  /** The controller's volumes, drives named by the disks' ids (serial, or name without one), sorted. */
  volumes(): Promise<Volume[]>;
  /** Deletes every volume (Redfish Storage.ResetToDefaults ResetAll). Destroys data. */
  wipeVolumes(): Promise<void>;
  /** Creates one volume over the drives whose ids `volume.drives` lists. */
  createVolume(volume: Volume): Promise<void>;
  /** The BIOS attributes in force. */
  biosAttributes(): Promise<Record<string, BiosValue>>;
  /** Sets BIOS attributes (applied at once). */
  setBios(changes: Record<string, BiosValue>): Promise<void>;
}
