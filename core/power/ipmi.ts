/**
 * The `ipmi` power driver: ipmitool over IPMI 2.0 (lanplus) with cipher suite 3. NOTE: without `-C 3`
 * ipmitool first spends ~10 s per call on a failed cipher-suite query (measured, notes/lab.md). The
 * password travels in the IPMI_PASSWORD environment variable (`-E`), never in argv, where `ps` would
 * show it. Calls to one BMC are serialized and spaced by the caller's keyed limits.
 */
import { execFile } from 'node:child_process';
import { AppError } from '../errors';
import type { BmcTarget, BootDevice, PowerAction, PowerDriver, PowerState } from './driver';

export interface IpmiOptions {
  /** Seconds per lanplus attempt (`-N`). */
  timeoutSeconds?: number;
  /** Retries per call (`-R`). */
  retries?: number;
  binary?: string;
}

export function createIpmiDriver(opts: IpmiOptions = {}): PowerDriver {
  const binary = opts.binary ?? 'ipmitool';

  function ipmitool(t: BmcTarget, args: string[]): Promise<string> {
    const argv = ['-I', 'lanplus', '-C', '3', '-H', t.host, '-p', String(t.port), '-U', t.username, '-E'];
    // -v: only then does ipmitool say why a session failed ("RAKP 2 HMAC is invalid" = bad password,
    // "unauthorized name" = unknown user) instead of one message for bad credentials and dead BMCs alike.
    argv.push('-v', '-N', String(opts.timeoutSeconds ?? 2), '-R', String(opts.retries ?? 2), ...args);
    return new Promise((resolve, reject) => {
      execFile(
        binary,
        argv,
        { env: { ...process.env, IPMI_PASSWORD: t.password }, timeout: 60_000 },
        (err, stdout, stderr) => {
          if (!err) return resolve(stdout);
          const text = `${stderr}`.trim().split('\n').slice(-3).join(' ');
          const where = `BMC ${t.host}:${t.port} of ${t.node}`;
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
            return reject(
              new AppError(
                'ERR_POWER_FAILED',
                `${binary} is not installed on the admin host: install the ipmitool package`,
              ),
            );
          }
          if (/unauthorized name|RAKP 2 HMAC is invalid|password/i.test(text)) {
            return reject(
              new AppError(
                'ERR_POWER_AUTH',
                `${where} rejected the credentials for ${t.username}: fix the node's BMC username/password`,
              ),
            );
          }
          if (/session|timeout|No response|Unable to establish/i.test(text)) {
            return reject(
              new AppError(
                'ERR_POWER_UNREACHABLE',
                `${where} did not answer (${text || err.message}): check the BMC address and network`,
              ),
            );
          }
          reject(
            new AppError('ERR_POWER_FAILED', `${where}: ipmitool ${args.join(' ')} failed: ${text || err.message}`),
          );
        },
      );
    });
  }

  return {
    name: 'ipmi',
    async status(t): Promise<PowerState> {
      const out = await ipmitool(t, ['chassis', 'power', 'status']);
      if (/is on/i.test(out)) return 'on';
      if (/is off/i.test(out)) return 'off';
      throw new AppError('ERR_POWER_FAILED', `BMC of ${t.node} answered an unknown power status: ${out.trim()}`);
    },
    async power(t, action: PowerAction) {
      await ipmitool(t, ['chassis', 'power', action]);
    },
    async nextBoot(t, device: BootDevice) {
      await ipmitool(t, ['chassis', 'bootdev', device === 'pxe' ? 'pxe' : 'disk']);
    },
  };
}
