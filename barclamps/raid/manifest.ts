/**
 * The raid barclamp (DESIGN §2 hardware-configured, docs/ready-state.md): role `raid-configure` computes the
 * volumes a node's controller should hold from what inventory found (`inventory/disks`) and the raid
 * attribs (core/domain/raid-plan.ts), applies them through the node's hardware driver (core/hardware:
 * `redfish` out of band, `lab` in band), reads them back and verifies them. Destructive: the annealer runs it
 * once; and the action itself never wipes a controller that holds a different configuration unless
 * `raid/force` is true. A controller that already holds the plan is left alone.
 */
import { z } from 'zod';
import { AppError } from '../../core/errors';
import type { InventoryDisk } from '../../core/domain/inventory';
import {
  planRaid,
  raidDataLevels,
  raidDecision,
  raidOsLevels,
  volumeDiff,
  type RaidDataLevel,
  type RaidOsLevel,
  type Volume,
} from '../../core/domain/raid-plan';
import { diskId } from '../../core/domain/raid-plan';
import { chooseHardwareDriver, hardwareDriverFor, type HardwareDriverName } from '../../core/hardware';
import { hardwareDriverNames } from '../../core/hardware/driver';
import { attr } from '../../core/plugins/attr';
import { defineBarclamp, type Action, type CheckAction, type RoleContext } from '../../core/plugins/manifest';

const describe = (vs: Volume[]) =>
  vs.length ? vs.map((v) => `${v.name} ${v.level} [${v.drives.join(',')}]`).join('; ') : 'no volumes';

/** The plan for this node, or ERR_ATTRIB_INVALID naming the attrib that cannot be met. */
function plan(ctx: RoleContext): Volume[] {
  const disks = ctx.attribs['inventory/disks'] as InventoryDisk[];
  const p = planRaid(disks, {
    osLevel: ctx.attribs['raid/os-level'] as RaidOsLevel,
    data: ctx.attribs['raid/data'] as RaidDataLevel,
  });
  if (!p.ok) {
    throw new AppError('ERR_ATTRIB_INVALID', `${ctx.node.name}: ${p.field}: ${p.message}`, {
      details: { issues: [{ field: p.field, message: p.message }] },
    });
  }
  return p.volumes;
}

function driverOf(ctx: RoleContext) {
  const name = chooseHardwareDriver(
    ctx.attribs['raid/driver'] as 'auto' | HardwareDriverName,
    ctx.attribs['bmc/driver'],
  );
  return hardwareDriverFor(ctx, name);
}

const apply: Action = async (ctx) => {
  const want = plan(ctx);
  const hw = driverOf(ctx);
  // The controller must see the disks inventory found (by serial), or the plan is for other hardware.
  const drives = (await hw.drives()).map((d) => diskId({ serial: d.serial, name: d.id }));
  const unseen = want.flatMap((v) => v.drives).filter((id) => !drives.includes(id));
  if (unseen.length) {
    throw new AppError(
      'ERR_COMMAND_FAILED',
      `the ${hw.name} controller of ${ctx.node.name} has no disk ${unseen.join(', ')} that inventory recorded (it has ${drives.join(', ') || 'none'}): retry the inventory node-role`,
    );
  }
  const have = await hw.volumes();
  const decision = raidDecision(want, have, ctx.attribs['raid/force'] === true);
  if (decision === 'refuse') {
    throw new AppError(
      'ERR_STATE_INVALID',
      `the ${hw.name} controller of ${ctx.node.name} holds another configuration (${describe(have)}), not the plan (${describe(want)}); wiping it destroys its data: set raid/force to true on the node and retry raid-configure to replace it`,
      { details: { have, want } },
    );
  }
  if (decision === 'wipe') {
    ctx.log.warn('wiping the controller (raid/force)', { had: describe(have) });
    await hw.wipeVolumes();
  }
  if (decision === 'create' || decision === 'wipe') for (const v of want) await hw.createVolume(v);
  const after = await hw.volumes();
  const diff = volumeDiff(want, after);
  if (diff.length) {
    throw new AppError(
      'ERR_COMMAND_FAILED',
      `the ${hw.name} controller of ${ctx.node.name} read back differs from the plan: ${diff.join('; ')}`,
      { details: { want, have: after } },
    );
  }
  await ctx.admin.recordFacts({ raid: { driver: hw.name, volumes: after } });
  ctx.log.info('RAID configured', { driver: hw.name, decision, volumes: describe(after) });
  return { done: true, wall: { driver: hw.name, decision, volumes: after.map((v) => v.name) } };
};

const check: CheckAction = async (ctx) => {
  const want = plan(ctx);
  const hw = driverOf(ctx);
  const diff = volumeDiff(want, await hw.volumes());
  return [
    {
      name: 'RAID volumes match the plan',
      ok: diff.length === 0,
      detail: diff.length
        ? `${hw.name} controller: ${diff.join('; ')}`
        : `${hw.name} controller holds ${describe(want)}`,
      remediation:
        'the controller no longer holds the planned volumes: set raid/force to true on the node and re-run raid-configure (it is destructive and ran already: remove and bind it again, or ask for a forced run) to rebuild them; this destroys data on the disks',
    },
  ];
};

export default defineBarclamp({
  name: 'raid',
  version: '1.0.0',
  description: 'RAID volumes planned from inventory and applied through the Redfish or lab hardware driver',
  dir: __dirname,
  attribs: {
    'raid/os-level': attr.enum(raidOsLevels, {
      description:
        'OS volume: raid1 mirrors the two largest disks, raid0 takes the largest disk alone, none makes none',
      default: 'raid1',
    }),
    'raid/data': attr.enum(raidDataLevels, {
      description:
        'The disks the OS volume did not take: jbod (each passed through), raid0, raid1 (exactly 2), raid5 (3+), raid6 (4+), raid10 (even, 4+) as volume data, or none (left alone)',
      default: 'jbod',
    }),
    'raid/driver': {
      description:
        'Hardware driver: redfish (the BMC, DMTF Storage/Volumes), lab (a lab node in band), or auto (redfish when bmc/driver is redfish, else lab)',
      schema: z.enum(['auto', ...hardwareDriverNames]),
      default: 'auto',
    },
    'raid/force': attr.bool({
      description: 'Let raid-configure wipe a controller that holds a different configuration (destroys data)',
      default: false,
    }),
  },
  roles: {
    'raid-configure': {
      description: 'Plans RAID volumes from inventory, applies them, reads them back (destructive: runs once)',
      requires: ['inventory', 'bmc-configure'],
      precedes: ['os-install'],
      flags: ['destructive', 'implicit'],
      jig: 'ssh',
      wants: ['inventory/disks', 'bmc/driver', 'raid/os-level', 'raid/data', 'raid/driver', 'raid/force'],
      timeoutMs: 300_000,
      noRemove:
        'destructive hardware configuration: unbinding does not delete or rebuild the RAID volumes raid-configure created (that would destroy the data on them); the controller keeps them',
      actions: { apply, check },
    },
  },
});
