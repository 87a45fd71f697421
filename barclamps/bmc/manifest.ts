/**
 * The bmc barclamp (DESIGN §2 managed-node, docs/ready-state.md): role `bmc-configure` makes sure anneal
 * can manage the node out of band. Through the power service (ctx.admin.power, the same per-BMC limits as
 * every power call) it reads the power state, which verifies the address and credentials, and records the
 * BMC's driver and address as node attribs (`bmc/driver`, `bmc/address`: hardware roles pick their driver
 * from them) and the reading as the node's `bmc` fact.
 *
 * Errors are the power service's: ERR_POWER_NOT_CONFIGURED (no address, user or password: fails at once,
 * the message says how to set them), ERR_POWER_AUTH (wrong credentials: fails at once), ERR_POWER_UNREACHABLE
 * and ERR_POWER_FAILED (operational: retried with backoff).
 */
import { z } from 'zod';
import { AppError } from '../../core/errors';
import { bmcDriverNames } from '../../core/domain/vocabulary';
import { defineBarclamp, type Action, type CheckAction, type RoleContext } from '../../core/plugins/manifest';

export const bmcDriver = z.enum(['none', ...bmcDriverNames]);

/** The node's BMC settings, or ERR_POWER_NOT_CONFIGURED naming what is missing (before any BMC call). */
async function configured(ctx: RoleContext) {
  const s = await ctx.admin.bmc.settings();
  const missing =
    s.driver === 'ssh'
      ? []
      : [
          ...(s.address ? [] : ['address']),
          ...(s.username ? [] : ['username']),
          ...(s.hasPassword ? [] : ['password']),
        ];
  if (missing.length) {
    throw new AppError(
      'ERR_POWER_NOT_CONFIGURED',
      `node ${ctx.node.name} has no BMC ${missing.join(', ')}: set them with PUT /api/v2/nodes/${ctx.node.name}/bmc {"address", "username", "password", "driver"}`,
      { details: { node: ctx.node.name, missing } },
    );
  }
  return s;
}

const apply: Action = async (ctx) => {
  const s = await configured(ctx);
  const powerState = await ctx.admin.power.status();
  await ctx.admin.recordAttribs({ 'bmc/driver': s.driver, 'bmc/address': s.address });
  await ctx.admin.recordFacts({
    bmc: { driver: s.driver, address: s.address, username: s.username, credentialsVerified: true, powerState },
  });
  ctx.log.info('BMC verified', { driver: s.driver, address: s.address, powerState });
  return { done: true };
};

const check: CheckAction = async (ctx) => {
  const s = await ctx.admin.bmc.settings();
  const fact = (ctx.node.facts.bmc ?? {}) as { driver?: unknown; address?: unknown };
  const recorded = { driver: fact.driver, address: fact.address };
  const results = [
    {
      name: 'BMC settings recorded',
      ok: recorded.driver === s.driver && recorded.address === s.address,
      detail: `recorded ${String(recorded.driver)} at ${String(recorded.address)}; configured ${s.driver} at ${String(s.address)}`,
      remediation: 'the BMC settings changed since bmc-configure ran: retry the bmc-configure node-role',
    },
  ];
  let ok = false;
  let detail = '';
  try {
    detail = `power ${await ctx.admin.power.status()} read with the stored credentials`;
    ok = true;
  } catch (e) {
    detail = e instanceof AppError ? `${e.code}: ${e.message}` : String(e);
  }
  results.push({
    name: 'BMC answers with the stored credentials',
    ok,
    detail,
    remediation: `check the BMC is reachable and set its credentials with PUT /api/v2/nodes/${ctx.node.name}/bmc`,
  });
  return results;
};

export default defineBarclamp({
  name: 'bmc',
  version: '1.0.0',
  description: 'BMC configuration: credentials verified, power state read, BMC driver and address recorded',
  dir: __dirname,
  attribs: {
    'bmc/driver': {
      description: 'The BMC driver of the node as bmc-configure verified it (ipmi, redfish, ssh; none before)',
      schema: bmcDriver,
      default: 'none',
    },
    'bmc/address': {
      description: 'The BMC address of the node as bmc-configure verified it (host[:port]; null before)',
      schema: z.string().nullable(),
      default: null,
    },
  },
  roles: {
    'bmc-configure': {
      description: 'Verifies the BMC (reads its power state with the stored credentials) and records it',
      flags: ['implicit'],
      jig: 'noop',
      timeoutMs: 120_000,
      noRemove:
        "it only reads the BMC's power state (and records what it read in anneal): nothing on the node or its BMC changes",
      actions: { apply, check },
    },
  },
});
