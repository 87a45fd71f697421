/**
 * The `proxy` barclamp (ready-state layer, docs/ready-state.md): `proxy-service` runs anneal's own
 * tinyproxy (Debian package tinyproxy) on the admin host, listening only on `anneal/admin-address`;
 * `proxy-client` writes the node's proxy environment (/etc/profile.d) and apt's proxy configuration.
 * docs/barclamps.md ("proxy") lists what each role writes and checks.
 */
import { z } from 'zod';
import { attr } from '../../core/plugins/attr';
import { scriptAction } from '../../core/plugins/run-template';
import { defineBarclamp, type CheckAction, type CheckResult } from '../../core/plugins/manifest';
import { shellQuote } from '../../core/templates/render';

const HOST = /[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*/.source;

const ipv4Cidr = z
  .string()
  .regex(
    /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/(3[0-2]|[12]?\d)$/,
    'expected an IPv4 network like 10.231.0.0/24',
  );

/** The host tinyproxy answers its own statistics page for (a request for it never leaves the proxy). */
export const STATS_HOST = 'tinyproxy.stats';

/**
 * proxy-client's ready checks, read-only: the environment file names the proxy, the proxy answers its
 * statistics page (an HTTP fetch through the proxy that stays on the admin host), and, when
 * `proxy/check-url` is set, that URL fetched with the node's own proxy environment answers 2xx/3xx.
 */
const clientCheck: CheckAction = async (ctx) => {
  const proxyUrl = `http://${String(ctx.attribs['anneal/admin-address'])}:${Number(ctx.attribs['proxy/port'])}`;
  const checkUrl = String(ctx.attribs['proxy/check-url']);
  const node = ctx.node.name;
  const lines = [
    `echo "env $(. /etc/profile.d/anneal-proxy.sh 2>/dev/null; echo "\${http_proxy:-none}")"`,
    `echo "stats $(curl -sS -m 5 -o /dev/null -w '%{http_code}' -x ${shellQuote(proxyUrl)} ${shellQuote(`http://${STATS_HOST}/`)} 2>&1 | tr '\\n' ' ')"`,
    ...(checkUrl
      ? [
          // The Via header tinyproxy adds (ViaProxyName anneal) tells a proxied answer from a direct one.
          `echo "url $(. /etc/profile.d/anneal-proxy.sh 2>/dev/null; curl -sS -m 10 -D - -o /dev/null ${shellQuote(checkUrl)} 2>&1 | tr -d '\\r' | awk 'NR == 1 { printf "%s", $2 } tolower($1) == "via:" && / anneal / { printf " via-anneal" }')"`,
        ]
      : []),
  ];
  const out = await ctx.exec.run(lines.join('\n'), { signal: ctx.signal, timeoutMs: 25_000 });
  const value = (prefix: string) =>
    out.stdout
      .split('\n')
      .find((l) => l.startsWith(`${prefix} `))
      ?.slice(prefix.length + 1)
      .trim() ?? '';
  const env = value('env');
  const results: CheckResult[] = [
    {
      name: `the proxy environment names ${proxyUrl}`,
      ok: env === `${proxyUrl}/`,
      detail: `/etc/profile.d/anneal-proxy.sh: http_proxy=${env}`,
      remediation: `re-run the proxy-client node-role of ${node} (it writes /etc/profile.d/anneal-proxy.sh)`,
    },
    {
      name: `an HTTP fetch through ${proxyUrl} succeeds (the proxy's statistics page)`,
      ok: value('stats') === '200',
      detail: `curl -x ${proxyUrl} http://${STATS_HOST}/: ${value('stats') || 'no answer'}`,
      remediation: `check that proxy-service runs on the admin host, that ${node} reaches ${proxyUrl} and that proxy/allow covers ${ctx.node.address ?? 'its address'}; then re-run proxy-service`,
    },
  ];
  if (checkUrl) {
    const answer = value('url');
    results.push({
      name: `${checkUrl} answers through the proxy with the node's proxy environment`,
      ok: /^[23]\d\d via-anneal$/.test(answer),
      detail: `curl ${checkUrl} with /etc/profile.d/anneal-proxy.sh: ${answer || 'no answer'} (via-anneal: the answer came through anneal's proxy)`,
      remediation: `check that the proxy reaches ${checkUrl} (its log is under the admin host's service dir, tinyproxy/tinyproxy.log) and that proxy/no-proxy does not name its host`,
    });
  }
  return results;
};

export default defineBarclamp({
  name: 'proxy',
  version: '1.0.0',
  description:
    "HTTP proxy: anneal's tinyproxy on the admin address, and the nodes' proxy environment and apt configuration",
  dir: __dirname,
  attribs: {
    'proxy/port': attr.int({
      description: 'TCP port of the proxy service on anneal/admin-address',
      min: 1,
      max: 65535,
      default: 3128,
    }),
    'proxy/allow': attr.list(ipv4Cidr, {
      description: 'Networks allowed to use the proxy (tinyproxy Allow); everyone else is refused',
      default: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'],
    }),
    'proxy/upstream': attr.string({
      description: "Upstream proxy the service forwards through, as host:port (e.g. a site's own proxy); empty: direct",
      pattern: new RegExp(
        `^(?:${HOST}:(?:6553[0-5]|655[0-2]\\d|65[0-4]\\d{2}|6[0-4]\\d{3}|[1-5]\\d{4}|[1-9]\\d{0,3}))?$`,
      ),
      default: '',
    }),
    'proxy/no-proxy': attr.list(z.string().regex(new RegExp(`^\\.?${HOST}(?:/(?:3[0-2]|[12]?\\d))?$`)), {
      description: 'Hosts, domains (.example.org) and networks nodes reach directly, not through the proxy (no_proxy)',
      default: ['localhost', '127.0.0.1'],
    }),
    'proxy/check-url': attr.string({
      description:
        "An http:// URL proxy-client's check fetches with the node's proxy environment (e.g. anneal's own /api/v2/health); empty: only the proxy's statistics page is fetched",
      pattern: new RegExp(`^(?:http://${HOST}(?::\\d{1,5})?(?:/[A-Za-z0-9._~/?=&%+-]*)?)?$`),
      default: '',
    }),
  },
  roles: {
    'proxy-service': {
      description: "tinyproxy on anneal/admin-address (its own instance under the admin host's service dir)",
      flags: ['service'],
      jig: 'local',
      wants: ['anneal/admin-address', 'proxy/port', 'proxy/allow', 'proxy/upstream'],
      templates: ['proxy-service-remove.sh.hbs'],
      actions: { remove: scriptAction('proxy-service-remove.sh.hbs') },
    },
    'proxy-client': {
      description: "The node's proxy environment and apt proxy pointed at the proxy service; checks a fetch through it",
      requires: ['proxy-service'],
      // implicit: bound on the node that needs it, never borrowed from another node.
      flags: ['implicit'],
      jig: 'ssh',
      wants: ['anneal/admin-address', 'proxy/port', 'proxy/no-proxy', 'proxy/check-url'],
      templates: ['proxy-client-remove.sh.hbs'],
      actions: { check: clientCheck, remove: scriptAction('proxy-client-remove.sh.hbs') },
    },
  },
});
