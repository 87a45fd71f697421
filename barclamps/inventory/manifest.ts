/**
 * The inventory barclamp (DESIGN §2 managed-node, docs/ready-state.md): role `inventory` runs a read-only
 * gather script on the node (templates/inventory.sh.hbs) and records what it found as node attribs that
 * other roles `want` (raid plans from `inventory/disks`) and as the node's `inventory` fact (GET
 * /nodes/:ref). Same hardware, same values: a second run changes no attrib, so nothing re-runs.
 */
import { z } from 'zod';
import { AppError } from '../../core/errors';
import {
  chunkedOutput,
  inventoryDrift,
  InventoryParseError,
  parseInventory,
  unmetExpectations,
  type HardwareExpectations,
  type Inventory,
} from '../../core/domain/inventory';
import { attr } from '../../core/plugins/attr';
import { defineBarclamp, type CheckAction, type RoleContext, type Action } from '../../core/plugins/manifest';
import { shellQuote } from '../../core/templates/render';

const cpu = z.strictObject({
  model: z.string(),
  sockets: z.int().min(1),
  cores: z.int().min(0),
  threads: z.int().min(0),
});
const disk = z.strictObject({
  name: z.string().min(1),
  sizeBytes: z.int().min(0),
  model: z.string(),
  serial: z.string(),
  rotational: z.boolean().nullable(),
});
const nic = z.strictObject({
  name: z.string().min(1),
  mac: z.string().regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/),
  link: z.enum(['up', 'down']),
  speedMbps: z.int().nullable(),
});
const lldp = z.strictObject({
  interface: z.string(),
  chassisName: z.string().nullable(),
  chassisId: z.string().nullable(),
  portId: z.string().nullable(),
  portDescription: z.string().nullable(),
});

/** One chunk of a long output: 6000 bytes are 8000 base64 characters, inside one run's 8 KiB tail. */
const CHUNK = 6000;

/** Runs the gather script and parses its output (fetching it in chunks when it was too long for one run). */
export async function gather(ctx: RoleContext): Promise<Inventory> {
  const run = async (script: string) => {
    const out = await ctx.exec.run(script, { signal: ctx.signal, timeoutMs: 60_000 });
    if (out.exitCode !== 0) {
      throw new AppError('ERR_COMMAND_FAILED', `the inventory script exited ${out.exitCode} on ${ctx.node.name}`, {
        details: { exitCode: out.exitCode, stdoutTail: out.stdout, stderrTail: out.stderr },
      });
    }
    return out.stdout;
  };
  let text = await run(ctx.render('inventory.sh.hbs'));
  const chunked = chunkedOutput(text);
  if (chunked) {
    const parts: Buffer[] = [];
    const file = shellQuote(chunked.path);
    for (let i = 0; i * CHUNK < chunked.size; i++) {
      const b64 = await run(`dd if=${file} bs=${CHUNK} skip=${i} count=1 status=none | base64 | tr -d '\\n'`);
      parts.push(Buffer.from(b64.trim(), 'base64'));
    }
    await run(`rm -f ${file}`);
    text = Buffer.concat(parts).toString('utf8');
  }
  try {
    return parseInventory(text);
  } catch (e) {
    if (e instanceof InventoryParseError) {
      throw new AppError('ERR_COMMAND_FAILED', `inventory of ${ctx.node.name}: ${e.message}`, {
        details: { stdoutTail: text.slice(-2000) },
      });
    }
    throw e;
  }
}

/** The node attribs the inventory records (each defined below). */
export function inventoryAttribs(inv: Inventory): Record<string, unknown> {
  return {
    'inventory/cpu': inv.cpu,
    'inventory/memory-mb': inv.memoryMb,
    'inventory/disks': inv.disks,
    'inventory/nics': inv.nics,
    'inventory/dmi': inv.dmi,
    'inventory/lldp': inv.lldp,
  };
}

const apply: Action = async (ctx) => {
  const inv = await gather(ctx);
  await ctx.admin.recordAttribs(inventoryAttribs(inv));
  await ctx.admin.recordFacts({ inventory: inv });
  ctx.log.info('inventory recorded', {
    disks: inv.disks.length,
    nics: inv.nics.length,
    memoryMb: inv.memoryMb,
    source: inv.source,
  });
  return { done: true };
};

const check: CheckAction = async (ctx) => {
  const recorded = ctx.node.facts.inventory as Inventory | undefined;
  if (!recorded || typeof recorded !== 'object') {
    return [
      {
        name: 'inventory recorded',
        ok: false,
        detail: `node ${ctx.node.name} has no inventory fact`,
        remediation: 'retry the inventory node-role: it gathers and records the hardware',
      },
    ];
  }
  const now = await gather(ctx);
  const drift = inventoryDrift(recorded, now);
  return [
    {
      name: 'inventory recorded',
      ok: true,
      detail: `${recorded.disks.length} disk(s), ${recorded.nics.length} NIC(s), ${recorded.memoryMb} MB, ${recorded.cpu.threads} CPU thread(s)`,
      remediation: '',
    },
    {
      name: 'inventory matches the node',
      ok: drift.length === 0,
      detail: drift.length ? drift.join('; ').slice(0, 2000) : 'the recorded inventory is what the node has now',
      remediation:
        'the hardware changed since the inventory ran: retry the inventory node-role to record it (roles that want the changed attribs re-run)',
    },
  ];
};

/**
 * hardware-check's check: the recorded inventory meets `inventory/expect`. A role of its own (noop, a leaf
 * under ready-node) so that changing the expectations re-runs nothing but it and the milestone.
 */
const expectationsCheck: CheckAction = async (ctx) => {
  const recorded = ctx.node.facts.inventory as Inventory | undefined;
  const expect = ctx.attribs['inventory/expect'] as HardwareExpectations;
  const unmet = recorded ? unmetExpectations(recorded, expect) : ['no inventory recorded'];
  return [
    {
      name: "hardware meets the deployment's expectations",
      ok: unmet.length === 0,
      detail: unmet.length ? unmet.join('; ') : `meets inventory/expect ${JSON.stringify(expect)}`,
      remediation:
        'give the node the hardware inventory/expect asks for (or move it to a deployment whose expectations it meets), then run the inventory node-role again',
    },
  ];
};

export default defineBarclamp({
  name: 'inventory',
  version: '1.0.0',
  description: 'Hardware inventory: CPU, memory, disks, NICs, DMI and LLDP neighbours, recorded as node attribs',
  dir: __dirname,
  attribs: {
    'inventory/cpu': {
      description: 'CPU found by inventory: model, sockets, cores, threads (recorded per node)',
      schema: cpu.nullable(),
      default: null,
    },
    'inventory/memory-mb': attr.int({ description: 'Memory found by inventory, in MB (MemTotal)', min: 0, default: 0 }),
    'inventory/disks': {
      description: 'Disks found by inventory: name, sizeBytes, model, serial, rotational (sorted by name)',
      schema: z.array(disk),
      default: [],
    },
    'inventory/nics': {
      description: 'NICs found by inventory: name, mac, link (carrier up/down), speedMbps (null when unknown)',
      schema: z.array(nic),
      default: [],
    },
    'inventory/dmi': {
      description: 'DMI fields found by inventory (sys_vendor, product_name, product_serial, bios_version, …)',
      schema: z.record(z.string(), z.string()),
      default: {},
    },
    'inventory/expect': attr.object(
      {
        minThreads: z.int().min(1).optional(),
        minMemoryMb: z.int().min(1).optional(),
        minDisks: z.int().min(0).optional(),
        minDiskGib: z.int().min(1).optional(),
        minNics: z.int().min(0).optional(),
      },
      {
        description:
          "The deployment's hardware expectations of its nodes (minimum CPU threads, memory, disks and their size, NICs); the inventory check reports what a node lacks",
        default: {},
      },
    ),
    'inventory/lldp': {
      description: 'LLDP neighbours per interface (from lldpctl, when installed): chassis and port',
      schema: z.array(lldp),
      default: [],
    },
  },
  roles: {
    inventory: {
      description: 'Gathers the node hardware (read-only) and records it as node attribs and facts',
      flags: ['implicit'],
      jig: 'ssh',
      timeoutMs: 180_000,
      templates: ['inventory.sh.hbs'],
      noRemove:
        'inventory only reads the node (its spill files under /run are deleted by the run that made them); what it recorded stays in anneal',
      actions: { apply, check },
    },
    'hardware-check': {
      description: "Ready check: the node's recorded inventory meets the deployment's inventory/expect",
      requires: ['inventory'],
      flags: ['implicit'],
      wants: ['inventory/expect'],
      noRemove: 'a ready check only (noop jig): it writes nothing on the node',
      actions: { check: expectationsCheck },
    },
  },
});
