/**
 * `anneal power status|on|off|cycle|reset|boot|bmc`: a node's power through its BMC (docs/power.md).
 * `status` reads the BMC now; actions print the state the BMC reads right after (a cycle or reset may still
 * read `off`: `status` again shows when it is back). `bmc` sets the BMC's address,
 * user and driver; its password is read from stdin with `--password-stdin` only, never from argv (every
 * user on the host sees argv in `ps`). BMC errors (ERR_POWER_NOT_CONFIGURED, ERR_POWER_UNREACHABLE,
 * ERR_POWER_AUTH, ERR_POWER_FAILED) come back in one line saying what to do.
 */
import type { Command } from 'commander';
import { CliError, seg, type ApiClient } from '../client';
import { cell, print } from '../output';
import { readStdin } from '../stdin';

type Client = () => ApiClient;

interface NodeView {
  name: string;
  powerState: string;
  powerCheckedAt: number | null;
  bootDevice: string;
  bmcAddress: string | null;
  bmcUsername: string | null;
  bmcDriver: string;
}

const say = (line: string) => process.stdout.write(line + '\n');

export function registerPower(program: Command, client: Client): void {
  const power = program.command('power').description("a node's power and next boot device, through its BMC");
  power
    .command('status <node>')
    .description('read the power state from the BMC now')
    .option('--json', 'print JSON (the node)')
    .action(async (node: string, o: { json?: boolean }) => {
      const n = await client().get<NodeView>(`/nodes/${seg(node)}/power`);
      print(o.json, n, () =>
        say(
          `${n.name}: power ${n.powerState}, next boot ${n.bootDevice} (read ${cell(n.powerCheckedAt, 'checkedAt')})`,
        ),
      );
    });
  const actions = {
    on: 'power the node on',
    off: 'power the node off (hard)',
    cycle: 'power off, then on',
    reset: 'hard reset',
  } as const;
  for (const [action, description] of Object.entries(actions)) {
    power
      .command(`${action} <node>`)
      .description(description)
      .option('--json', 'print the API answer as JSON (the node)')
      .action(async (node: string, o: { json?: boolean }) => {
        const n = await client().post<NodeView>(`/nodes/${seg(node)}/power`, { action });
        print(o.json, n, () => say(`${n.name}: power ${action} sent; the BMC reads ${n.powerState}`));
      });
  }
  power
    .command('boot <node> <device>')
    .description('set the next boot device: pxe | disk')
    .option('--json', 'print the API answer as JSON (the node)')
    .action(async (node: string, device: string, o: { json?: boolean }) => {
      if (device !== 'pxe' && device !== 'disk')
        throw new CliError(`the boot device is pxe or disk, not "${device}"`, 'ERR_INPUT_INVALID');
      const n = await client().post<NodeView>(`/nodes/${seg(node)}/boot`, { device });
      print(o.json, n, () => say(`${n.name}: next boot ${n.bootDevice}`));
    });
  power
    .command('bmc <node>')
    .description("set the node's BMC: address, user, driver; the password only on stdin (--password-stdin)")
    .option('--address <host[:port]>', "the BMC's address")
    .option('--username <user>', 'the BMC user')
    .option('--driver <driver>', 'ipmi | redfish | ssh')
    .option('--password-stdin', 'read the BMC password from stdin (one line)')
    .option('--json', 'print the API answer as JSON (the node)')
    .action(
      async (
        node: string,
        o: { address?: string; username?: string; driver?: string; passwordStdin?: boolean; json?: boolean },
      ) => {
        const body: Record<string, string> = {};
        if (o.address !== undefined) body.address = o.address;
        if (o.username !== undefined) body.username = o.username;
        if (o.driver !== undefined) body.driver = o.driver;
        if (o.passwordStdin) {
          const password = (await readStdin()).replace(/\r?\n$/, '');
          if (!password) throw new CliError('--password-stdin read an empty password', 'ERR_INPUT_INVALID');
          body.password = password;
        }
        if (!Object.keys(body).length)
          throw new CliError(
            'nothing to set: give --address, --username, --driver and/or --password-stdin',
            'ERR_INPUT_INVALID',
          );
        const n = await client().put<NodeView>(`/nodes/${seg(node)}/bmc`, body);
        print(o.json, n, () =>
          say(
            `${n.name}: BMC ${cell(n.bmcAddress)} user ${cell(n.bmcUsername)} driver ${n.bmcDriver}` +
              (body.password ? ', password stored (never shown)' : ''),
          ),
        );
      },
    );
}
