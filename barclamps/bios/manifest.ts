/**
 * The bios barclamp (DESIGN §2 hardware-configured, docs/ready-state.md): role `bios-configure` diffs the
 * `bios/settings` baseline (attribute → value) against the node's BIOS (core/domain/bios-plan.ts), sets
 * the attributes that differ through the node's hardware driver (core/hardware: `redfish` PATCHes
 * Bios/Settings, `lab` edits the lab node's BIOS file), reads the BIOS back and verifies every baseline
 * attribute. Destructive: the annealer runs it once. An attribute the BIOS does not have fails at once.
 */
import { z } from 'zod';
import { AppError } from '../../core/errors';
import { biosMismatches, diffBios, type BiosValue } from '../../core/domain/bios-plan';
import { chooseHardwareDriver, hardwareDriverFor, type HardwareDriverName } from '../../core/hardware';
import { hardwareDriverNames } from '../../core/hardware/driver';
import { defineBarclamp, type Action, type CheckAction, type RoleContext } from '../../core/plugins/manifest';

function driverOf(ctx: RoleContext) {
  const name = chooseHardwareDriver(
    ctx.attribs['bios/driver'] as 'auto' | HardwareDriverName,
    ctx.attribs['bmc/driver'],
  );
  return hardwareDriverFor(ctx, name);
}

const apply: Action = async (ctx) => {
  const baseline = ctx.attribs['bios/settings'] as Record<string, BiosValue>;
  const hw = driverOf(ctx);
  const current = await hw.biosAttributes();
  const { changes, unknown } = diffBios(current, baseline);
  if (unknown.length) {
    const message = `the BIOS of ${ctx.node.name} has no attribute ${unknown.join(', ')} (it has ${Object.keys(current).sort().join(', ')})`;
    throw new AppError('ERR_ATTRIB_INVALID', `bios/settings: ${message}`, {
      details: { issues: unknown.map((k) => ({ field: `bios/settings.${k}`, message: 'no such BIOS attribute' })) },
    });
  }
  if (Object.keys(changes).length) await hw.setBios(changes);
  const after = await hw.biosAttributes();
  const mismatches = biosMismatches(after, baseline);
  if (mismatches.length) {
    throw new AppError(
      'ERR_COMMAND_FAILED',
      `the BIOS of ${ctx.node.name} (${hw.name}) read back differs from bios/settings: ${mismatches.join('; ')}`,
    );
  }
  const applied = Object.fromEntries(Object.keys(baseline).map((k) => [k, after[k]!]));
  await ctx.admin.recordFacts({ bios: { driver: hw.name, attributes: applied } });
  ctx.log.info('BIOS configured', { driver: hw.name, changed: Object.keys(changes) });
  return { done: true, wall: { driver: hw.name, changed: Object.keys(changes) } };
};

const check: CheckAction = async (ctx) => {
  const baseline = ctx.attribs['bios/settings'] as Record<string, BiosValue>;
  const hw = driverOf(ctx);
  const mismatches = biosMismatches(await hw.biosAttributes(), baseline);
  return [
    {
      name: 'BIOS matches bios/settings',
      ok: mismatches.length === 0,
      detail: mismatches.length
        ? `${hw.name} BIOS: ${mismatches.join('; ')}`
        : `${hw.name} BIOS holds all ${Object.keys(baseline).length} baseline attribute(s)`,
      remediation:
        'the BIOS changed since bios-configure ran: re-run bios-configure (destructive, it ran already: remove and bind it again) or set the attributes back through the BMC',
    },
  ];
};

export default defineBarclamp({
  name: 'bios',
  version: '1.0.0',
  description: 'BIOS settings baseline applied through the Redfish or lab hardware driver and read back',
  dir: __dirname,
  attribs: {
    'bios/settings': {
      description:
        'BIOS baseline: attribute name → value as the BIOS names them (Redfish Bios Attributes), e.g. {"ProcVirtualization": "Enabled"}',
      schema: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_.]*$/), z.union([z.string(), z.number(), z.boolean()])),
      default: {},
    },
    'bios/driver': {
      description:
        'Hardware driver: redfish (the BMC, DMTF Bios/Settings), lab (a lab node in band), or auto (redfish when bmc/driver is redfish, else lab)',
      schema: z.enum(['auto', ...hardwareDriverNames]),
      default: 'auto',
    },
  },
  roles: {
    'bios-configure': {
      description: 'Applies the bios/settings baseline and reads it back (destructive: runs once)',
      requires: ['inventory', 'bmc-configure'],
      precedes: ['os-install'],
      flags: ['destructive', 'implicit'],
      jig: 'ssh',
      wants: ['bmc/driver', 'bios/settings', 'bios/driver'],
      timeoutMs: 300_000,
      noRemove:
        'destructive hardware configuration: unbinding leaves the BIOS attributes as bios-configure set them (their previous values are not recorded); set them back through the BMC',
      actions: { apply, check },
    },
  },
});
