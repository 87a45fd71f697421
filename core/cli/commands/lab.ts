/**
 * `anneal lab …`: the lab of namespaced nodes with IPMI BMCs (docs/lab.md). Runs on this host, as
 * root; it does not need a running server. Secrets (BMC passwords, the lab's SSH key) are never
 * printed: `status` shows where they are kept.
 */
import type { Command } from 'commander';
import {
  DEFAULT_STATE_DIR,
  LAB_FAULTS,
  LAB_SUBNET,
  labSubnetProblem,
  labDown,
  labFault,
  labHeal,
  labStatus,
  labUp,
  type LabFault,
  type LabStatus,
} from '../../lab';
import { createLogger } from '../../log';
import { CliError } from '../client';
import { printJson, printTable } from '../output';

function printStatus(s: LabStatus): void {
  printTable(
    s.nodes.map((n) => ({
      node: n.name,
      ip: n.ip,
      power: n.power,
      sshd: n.sshdRunning ? 'up' : 'down',
      bmc: `${n.bmc.host}:${n.bmc.port}`,
      boot: n.bootDevice,
      faults: n.faults.join(',') || '-',
    })),
    ['node', 'ip', 'power', 'sshd', 'bmc', 'boot', 'faults'],
  );
  process.stdout.write(
    `lab ${s.name}: subnet ${s.subnet}, bridge ${s.bridge} ${s.hostIp}, BMC ports ${s.bmcBasePort}+i/udp, Redfish ${s.redfishBasePort}+i/tcp, state ${s.labDir} (ssh key and BMC passwords kept there, mode 0600)\n`,
  );
}

/** A base port option: a whole number from 1024 up to 65535 - nodes. */
function basePort(flag: string, value: string | undefined, nodes: number): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1024 || port + nodes > 65535)
    throw new CliError(`${flag} takes a port from 1024 to ${65535 - nodes}`, 'ERR_INPUT_INVALID');
  return port;
}

interface LabOptions {
  name: string;
  stateDir: string;
}

interface UpOptions extends LabOptions {
  nodes: string;
  subnet?: string;
  bmcBasePort?: string;
  redfishBasePort?: string;
  annealUrl?: string;
  json?: boolean;
}

export function registerLab(program: Command): void {
  const lab = program
    .command('lab')
    .description('virtual lab nodes (network namespaces + sshd + IPMI BMCs); run as root');
  const log = () => createLogger({ level: process.env.ANNEAL_LOG_LEVEL ?? 'warn' });
  /** Every lab command takes the lab's name and state directory. */
  const command = (spec: string) =>
    lab
      .command(spec)
      .option('--name <name>', 'lab name', 'anneal')
      .option('--state-dir <dir>', 'where labs keep their state', DEFAULT_STATE_DIR);
  command('up')
    .description('create or repair N lab nodes and power them on (idempotent)')
    .requiredOption('--nodes <n>', 'how many nodes (1-200)')
    .option(
      '--subnet <cidr>',
      `the lab's private IPv4 subnet, /16 to /24, fixed when the lab is made; host .1, node i .(10+i) (default ${LAB_SUBNET})`,
    )
    .option(
      '--bmc-base-port <port>',
      "node i's IPMI BMC on 127.0.0.1:(port+i)/udp (default: the first free block, 9000+200k)",
    )
    .option(
      '--redfish-base-port <port>',
      "node i's Redfish on 127.0.0.1:(port+i)/tcp (default: the first free block, 8000+200k)",
    )
    .option('--anneal-url <url>', "where nodes announce themselves on first power-on (http://<the lab's host ip>:PORT)")
    .option('--json', 'print JSON')
    .action(async (o: UpOptions) => {
      const nodes = Number(o.nodes);
      if (!Number.isInteger(nodes) || nodes < 1 || nodes > 200)
        throw new CliError('--nodes takes a whole number from 1 to 200', 'ERR_INPUT_INVALID');
      const problem = o.subnet === undefined ? null : labSubnetProblem(o.subnet);
      if (problem) throw new CliError(`--subnet: ${problem}`, 'ERR_INPUT_INVALID');
      const bmcBasePort = basePort('--bmc-base-port', o.bmcBasePort, nodes);
      const redfishBasePort = basePort('--redfish-base-port', o.redfishBasePort, nodes);
      const t0 = Date.now();
      const s = await labUp({
        name: o.name,
        stateDir: o.stateDir,
        nodes,
        ...(o.subnet ? { subnet: o.subnet } : {}),
        ...(bmcBasePort !== undefined ? { bmcBasePort } : {}),
        ...(redfishBasePort !== undefined ? { redfishBasePort } : {}),
        ...(o.annealUrl ? { annealUrl: o.annealUrl } : {}),
        log: log(),
      });
      if (o.json) return printJson(s);
      printStatus(s);
      process.stdout.write(`ready in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    });
  command('status')
    .option('--json', 'print JSON')
    .action(async (o: LabOptions & { json?: boolean }) => {
      const s = await labStatus({ name: o.name, stateDir: o.stateDir });
      if (o.json) printJson(s);
      else printStatus(s);
    });
  command('down')
    .description('remove every namespace, link, process, mount and file the lab made')
    .action(async (o: LabOptions) => {
      const r = await labDown({ name: o.name, stateDir: o.stateDir, log: log() });
      const x = r.removed;
      process.stdout.write(
        `lab ${r.name} removed: ${x.namespaces} namespaces, ${x.links} links, ${x.processes} processes, ${x.mounts} mounts${x.stateDir ? ', state dir' : ''}\n`,
      );
    });
  command('fault <node> <fault>')
    .description(`inject a fault: ${LAB_FAULTS.join(' | ')}`)
    .action(async (node: string, fault: string, o: LabOptions) => {
      if (!(LAB_FAULTS as readonly string[]).includes(fault))
        throw new CliError(`unknown fault "${fault}": use one of ${LAB_FAULTS.join(', ')}`, 'ERR_INPUT_INVALID');
      const n = await labFault({ name: o.name, stateDir: o.stateDir, node, fault: fault as LabFault, log: log() });
      process.stdout.write(`${n.name}: faults ${n.faults.join(', ')}\n`);
    });
  command('heal [node]')
    .description('remove injected faults (all nodes when none is named)')
    .action(async (node: string | undefined, o: LabOptions) => {
      printStatus(await labHeal({ name: o.name, stateDir: o.stateDir, ...(node ? { node } : {}), log: log() }));
    });
}
