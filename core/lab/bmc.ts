/**
 * A lab node's BMC: one `ipmi_sim` per node on 127.0.0.1:<port> (IPMI 1.5 and 2.0/RMCP+), user `admin`
 * with the node's random password, chassis power and boot device delegated to bmc-control.sh through
 * the per-node wrapper <nodeDir>/bmc/control. The password is only ever in lan.conf (0600), secrets.json
 * (0600) and the IPMI_PASSWORD environment of ipmitool; never on a command line or in a log.
 */
import { createSocket } from 'node:dgram';
import { mkdirSync, readFileSync } from 'node:fs';
import { AppError } from '../errors';
import { BMC_HOST, BMC_USERNAME, type LabPaths, type NodePaths } from './layout';
import { alive, cmdline, run, spawnDetached, stopPids, waitFor } from './proc';
import { readText, writeFileAtomic, writeIfChanged, type NodeRecord } from './state';

/** True when a UDP socket is bound to 127.0.0.1:<port> (from /proc/net/udp). */
export function udpPortBound(port: number): boolean {
  const hex = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  try {
    return readFileSync('/proc/net/udp', 'utf8').includes(` ${hex} `);
  } catch {
    return false;
  }
}

/** How many times (250 ms apart) startBmc looks again at a busy port before it reports the conflict. */
const PORT_WAIT_TRIES = 20;

/** Resolves true when 127.0.0.1:<port>/udp can be bound right now. */
export function udpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, BMC_HOST, () => s.close(() => resolve(true)));
  });
}

/** The pid of the node's running ipmi_sim, or null. */
export function bmcPid(np: NodePaths): number | null {
  const pid = Number(readText(np.bmcPid));
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return null;
  const argv = cmdline(pid);
  return argv && argv[0]?.endsWith('ipmi_sim') && argv.includes(np.bmcConf) ? pid : null;
}

/** A GUID for the BMC (RMCP+ sessions need one), stable per node. */
function guid(node: NodeRecord): string {
  return `a11ab${node.macs.eth0.replaceAll(':', '')}`.padEnd(32, '0').slice(0, 32);
}

/** Writes lan.conf (0600, has the password), sim.emu and the control wrapper. */
export function writeBmcConfig(paths: LabPaths, np: NodePaths, node: NodeRecord, password: string): void {
  mkdirSync(np.bmcState, { recursive: true, mode: 0o700 });
  const auths = 'none md2 md5 straight';
  const lan = [
    `# ipmi_sim configuration of lab node ${node.name} (written by anneal lab; contains the BMC password)`,
    `name "${node.name}"`,
    'set_working_mc 0x20',
    '  startlan 1',
    `    addr ${BMC_HOST} ${node.bmcPort}`,
    '    priv_limit admin',
    `    allowed_auths_callback ${auths}`,
    `    allowed_auths_user ${auths}`,
    `    allowed_auths_operator ${auths}`,
    `    allowed_auths_admin ${auths}`,
    `    guid ${guid(node)}`,
    '  endlan',
    `  chassis_control "${np.bmcControl}"`,
    `  user 2 true "${BMC_USERNAME}" "${password}" admin 10 ${auths}`,
    '',
  ].join('\n');
  writeIfChanged(np.bmcConf, lan, 0o600);
  // NOTE(lab): without mc_setbmc, ipmi_sim 1.0.13 exits 1 at start ("No bmc_ipmb specified or configured").
  const emu = [
    'mc_setbmc 0x20',
    'mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr',
    'sel_enable 0x20 1000 0x0a',
    'mc_enable 0x20',
    '',
  ].join('\n');
  writeIfChanged(np.bmcEmu, emu, 0o644);
  const wrapper = `#!/bin/sh\nexec ${paths.binDir}/bmc-control.sh ${np.dir} "$@"\n`;
  writeIfChanged(np.bmcControl, wrapper, 0o755);
}

/**
 * Starts the node's ipmi_sim unless it runs, and waits until it listens. Throws ERR_LAB_CONFLICT when
 * another process holds the port, ERR_LAB_COMMAND_FAILED (with the log tail) when it does not come up.
 */
export async function startBmc(np: NodePaths, node: NodeRecord): Promise<boolean> {
  if (bmcPid(np) !== null) return false;
  // A BMC of a lab that was just removed may still be releasing the port: give it a few seconds.
  let free = await udpPortFree(node.bmcPort);
  for (let i = 0; !free && i < PORT_WAIT_TRIES; i++) {
    await new Promise((r) => setTimeout(r, 250));
    free = await udpPortFree(node.bmcPort);
  }
  if (!free) {
    throw new AppError(
      'ERR_LAB_CONFLICT',
      `UDP port ${BMC_HOST}:${node.bmcPort} for the BMC of ${node.name} is taken by another process; free it or create the lab with another BMC base port`,
      { details: { node: node.name, port: node.bmcPort } },
    );
  }
  const pid = spawnDetached('ipmi_sim', ['-c', np.bmcConf, '-f', np.bmcEmu, '-n', '-s', np.bmcState], np.bmcLog);
  writeFileAtomic(np.bmcPid, `${pid}\n`);
  try {
    await waitFor(
      `the BMC of ${node.name}`,
      () => (udpPortBound(node.bmcPort) ? true : alive(pid) ? undefined : false),
      10_000,
    ).then((ok) => {
      if (!ok) throw new Error('ipmi_sim exited');
    });
  } catch (e) {
    const log = (readText(np.bmcLog) ?? '').split('\n').slice(-5).join('\n');
    throw new AppError(
      'ERR_LAB_COMMAND_FAILED',
      `the BMC of ${node.name} did not start: ${log || (e as Error).message}`,
      {
        details: { node: node.name, log: np.bmcLog },
        cause: e,
      },
    );
  }
  return true;
}

/** Stops the node's ipmi_sim (fault bmc-down, teardown). */
export async function stopBmc(np: NodePaths): Promise<boolean> {
  const pid = bmcPid(np);
  if (pid === null) return false;
  await stopPids([pid], 2000);
  return true;
}

/**
 * Runs `ipmitool -I lanplus -C 3 … <args>` against a node's BMC (the real management path). The
 * password travels in IPMI_PASSWORD (-E). Throws ERR_LAB_COMMAND_FAILED when ipmitool fails.
 */
export async function ipmitool(port: number, password: string, args: string[]): Promise<string> {
  const base = [
    '-I',
    'lanplus',
    '-C',
    '3',
    '-H',
    BMC_HOST,
    '-p',
    String(port),
    '-U',
    BMC_USERNAME,
    '-E',
    '-N',
    '2',
    '-R',
    '3',
  ];
  const { stdout } = await run('ipmitool', [...base, ...args], { env: { IPMI_PASSWORD: password }, timeoutMs: 60_000 });
  return stdout;
}
