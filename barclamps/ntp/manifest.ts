/**
 * The `ntp` barclamp (ready-state layer, docs/ready-state.md): `ntp-service` runs anneal's own chronyd on
 * the admin host, listening only on `anneal/admin-address`, and `ntp-client` points each node's chronyd
 * at it. The service never controls the admin host's clock (chronyd -x): it serves the host's clock, or
 * its upstream `ntp/upstream`' time. docs/barclamps.md ("ntp") lists what each role writes and checks.
 */
import { z } from 'zod';
import { attr } from '../../core/plugins/attr';
import { scriptAction } from '../../core/plugins/run-template';
import { defineBarclamp, type CheckAction, type CheckResult } from '../../core/plugins/manifest';

/** A host name or IPv4 address: what chrony accepts after `server`, and nothing a config line could hide in. */
const ntpServer = z
  .string()
  .max(253)
  .regex(
    /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/,
    'expected a host name or IPv4 address like ntp.example.org or 10.0.0.1',
  );

/** An IPv4 network in CIDR notation. */
const ipv4Cidr = z
  .string()
  .regex(
    /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/(3[0-2]|[12]?\d)$/,
    'expected an IPv4 network like 10.231.0.0/24',
  );

/**
 * ntp-client's ready checks, read-only: chronyd answers `chronyc`, and its selected source (`^*` in
 * `chronyc -n sources`) is the ntp service on the admin address.
 */
const clientCheck: CheckAction = async (ctx) => {
  const admin = String(ctx.attribs['anneal/admin-address']);
  const out = await ctx.exec.run(
    'command -v chronyc >/dev/null || { echo "no chronyc"; exit 3; }\n' +
      'chronyc -n sources 2>&1; echo "rc=$?"; echo ---; chronyc -n tracking 2>&1 | head -n 3',
    { signal: ctx.signal, timeoutMs: 20_000 },
  );
  const node = ctx.node.name;
  const [sources = '', tracking = ''] = out.stdout.split('\n---\n');
  const answered = out.exitCode === 0 && /\nrc=0\s*$/.test(sources);
  const results: CheckResult[] = [
    {
      name: 'chronyd answers chronyc',
      ok: answered,
      detail: answered
        ? 'chronyc -n sources answered'
        : out.exitCode === 3
          ? 'chronyc is not installed'
          : sources.trim(),
      remediation: `chronyd is not running on ${node}: re-run its ntp-client node-role (it starts chronyd), or install the Debian package chrony`,
    },
  ];
  const lines = sources.split('\n').filter((l) => /^\^/.test(l));
  const selected = lines.find((l) => l.startsWith('^*'));
  const fromAdmin = selected !== undefined && selected.split(/\s+/)[1] === admin;
  results.push({
    name: `the ntp service ${admin} is the selected source`,
    ok: fromAdmin,
    detail:
      (selected ? `selected: ${selected.trim()}` : `no selected source among ${lines.length}`) +
      (tracking ? `; ${tracking.trim().split('\n').join('; ')}` : ''),
    remediation: `check that ntp-service runs on the admin host and that ${node} reaches ${admin}:123/udp (chronyc -n sources on ${node} shows each source's state), then re-run ntp-client`,
  });
  return results;
};

export default defineBarclamp({
  name: 'ntp',
  version: '1.0.0',
  description: "Time: anneal's chrony service on the admin address and chrony clients on the nodes",
  dir: __dirname,
  attribs: {
    'ntp/servers': attr.list(ntpServer, {
      description:
        'NTP servers the clients use besides the ntp service (fallbacks after it); changing them re-runs only the ntp-client node-roles',
      default: [],
    }),
    'ntp/upstream': attr.list(ntpServer, {
      description:
        "Upstream NTP servers of the ntp service; empty: the service serves the admin host's own clock (local stratum)",
      default: [],
    }),
    'ntp/set-clock': attr.bool({
      description:
        'Whether chronyd on a node sets its clock; false runs it with -x (it syncs and reports but never adjusts the clock). Lab nodes have no CAP_SYS_TIME: set it false there',
      default: true,
    }),
    'ntp/allow': attr.list(ipv4Cidr, {
      description: 'Networks the ntp service answers (chrony allow); the service listens on anneal/admin-address only',
      default: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'],
    }),
    'ntp/local-stratum': attr.int({
      description: 'Stratum the ntp service announces when it serves its own clock (no upstream answers)',
      min: 1,
      max: 15,
      default: 10,
    }),
  },
  roles: {
    'ntp-service': {
      description: "chrony serving time on anneal/admin-address (its own instance under the admin host's service dir)",
      flags: ['service'],
      jig: 'local',
      wants: ['anneal/admin-address', 'ntp/upstream', 'ntp/allow', 'ntp/local-stratum'],
      templates: ['ntp-service-remove.sh.hbs'],
      actions: { remove: scriptAction('ntp-service-remove.sh.hbs') },
    },
    'ntp-client': {
      description: "chrony on the node with the ntp service as its preferred source; checks it's the selected source",
      requires: ['ntp-service'],
      // implicit: bound on the node that needs it, never borrowed from another node.
      flags: ['implicit'],
      jig: 'ssh',
      wants: ['anneal/admin-address', 'ntp/servers', 'ntp/set-clock'],
      // 75: chronyd runs but has not selected the service within 30 s yet; retried with backoff.
      transientExitCodes: [75],
      templates: ['ntp-client-remove.sh.hbs'],
      actions: { check: clientCheck, remove: scriptAction('ntp-client-remove.sh.hbs') },
    },
  },
});
