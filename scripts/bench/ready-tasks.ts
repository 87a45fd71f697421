/**
 * What `npm run bench:ready` asks each contender to do on the lab nodes, and how it checks the result:
 * the ready-node configuration tasks (keys, ntp, dns, proxy, hosts) as anneal's roles do them, written
 * out for parallel-ssh (one bash script per task, sent on stdin) and for ansible-playbook (the content
 * the playbook's builtin modules write, passed as extra vars to scripts/bench/ready-playbook.yml).
 *
 * Every task produces the same end state as the anneal role it stands for (same files, same content
 * apart from the "managed by" comment, chronyd started the same way and waited for until it selected the
 * service, as ntp-client does), so verify() can hold every contender to the same checks.
 */
import { shellQuote } from '../../core/templates/render';

/** A ready-node task: the anneal role it stands for and the playbook tag that runs it. */
export interface ReadyTask {
  tag: 'keys' | 'ntp' | 'dns' | 'proxy' | 'hosts';
  role: string;
}

/**
 * Only those whose role exists in barclamps/index.ts are run, in this order by every contender (anneal:
 * the binding order, which is its claim order on a node). ntp comes last: its wait for chronyd to select
 * the service (about 1 s: iburst with minpoll -4 on the one-hop admin source) is the same for every contender, and with ntp last
 * the moment chronyd started on the last node marks "everything configured" for all three.
 */
export const READY_TASKS: ReadyTask[] = [
  { tag: 'keys', role: 'ssh-access' },
  { tag: 'dns', role: 'dns-client' },
  { tag: 'proxy', role: 'proxy-client' },
  { tag: 'hosts', role: 'network-config' },
  { tag: 'ntp', role: 'ntp-client' },
];

export interface BenchValues {
  admin: string;
  domain: string;
  proxyPort: number;
  noProxy: string[];
  /** Every lab node (name, address): /etc/hosts lines and the dns check. */
  nodes: Array<{ name: string; ip: string }>;
  /** root's authorized_keys: the lab's key (anneal's managed key) first, then ssh-access/authorized-keys. */
  authorizedKeys: string[];
}

export function proxyUrl(v: BenchValues): string {
  return `http://${v.admin}:${v.proxyPort}/`;
}

/** The files each task writes, with the content the anneal role writes (see the role's template). */
export function contents(v: BenchValues) {
  const url = proxyUrl(v);
  const np = v.noProxy.join(',');
  return {
    authorizedKeys: [
      "# Managed by anneal-bench (keys): anneal's key, then ssh-access/authorized-keys; local edits are overwritten.",
      ...v.authorizedKeys,
      '',
    ].join('\n'),
    etcHosts: [
      '# Managed by anneal-bench (hosts): every node of the deployment; local edits are overwritten.',
      '127.0.0.1 localhost',
      '::1 localhost ip6-localhost ip6-loopback',
      'ff02::1 ip6-allnodes',
      'ff02::2 ip6-allrouters',
      ...v.nodes.map((n) => {
        const fqdn = n.name.toLowerCase();
        return `${n.ip} ${fqdn} ${fqdn.split('.')[0]!}`;
      }),
      '',
    ].join('\n'),
    chronyConf: [
      '# Managed by anneal-bench (ntp); local edits are overwritten.',
      '# chronyd options: -x',
      `server ${v.admin} iburst prefer minpoll -4 maxpoll 6`,
      'driftfile /var/lib/chrony/chrony.drift',
      'makestep 1 3',
      '',
    ].join('\n'),
    resolvConf: [
      '# Managed by anneal-bench (dns); local edits are overwritten.',
      `search ${v.domain}`,
      `nameserver ${v.admin}`,
      'options timeout:2 attempts:2',
      '',
    ].join('\n'),
    proxyEnv: [
      '# Managed by anneal-bench (proxy); local edits are overwritten.',
      ...['http_proxy', 'https_proxy', 'ftp_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY'].map(
        (n) => `export ${n}='${url}'`,
      ),
      ...['no_proxy', 'NO_PROXY'].map((n) => `export ${n}='${np}'`),
      '',
    ].join('\n'),
    proxyApt: [
      '// Managed by anneal-bench (proxy); local edits are overwritten.',
      `Acquire::http::Proxy "${url}";`,
      `Acquire::https::Proxy "${url}";`,
      '',
    ].join('\n'),
  };
}

/**
 * chronyd on a lab node as ntp-client starts it without systemd: restarted only when its config changed
 * (`$1` = true), -x (nodes have no CAP_SYS_TIME), pid file under the node's own /run. Shared by the
 * parallel-ssh script and the playbook's shell task.
 */
export const CHRONYD_START = `set -euo pipefail
changed=\${1:-true}
pidfile=/run/chrony/chronyd.pid
user=root; if id -u _chrony >/dev/null 2>&1; then user=_chrony; fi
running() { pid=$(cat "$pidfile" 2>/dev/null) || return 1; [[ $pid =~ ^[0-9]+$ && "$(cat /proc/$pid/comm 2>/dev/null)" == chronyd ]]; }
if running && [[ $changed == true ]]; then kill "$pid"; for _ in $(seq 50); do [[ -d /proc/$pid ]] || break; sleep 0.1; done; fi
if ! running; then
  mkdir -p /run/chrony /var/lib/chrony /var/log/chrony
  chown "$user:" /run/chrony /var/lib/chrony /var/log/chrony
  chmod 0750 /run/chrony
  rm -f "$pidfile"
  setsid chronyd -x -u "$user" -f /etc/chrony/chrony.conf -l /var/log/chrony/chronyd.log </dev/null >/dev/null 2>&1
  for _ in $(seq 50); do running && break; sleep 0.1; done
  running
  echo "started chronyd $pid"
fi
`;

/** Waits until chronyd selected the service (ntp-client's last step; 60 × 0.5 s). `$1` = the admin address. */
export const CHRONY_WAIT = `for _ in $(seq 60); do
  if chronyc -n sources 2>/dev/null | awk -v a="$1" '$1 == "^*" && $2 == a { ok = 1 } END { exit !ok }'; then echo synchronised; exit 0; fi
  sleep 0.5
done
echo "$1 is not the selected source after 30 s" >&2
exit 75
`;

/** Writes `content` to `path` when it differs (as the roles do: atomically, by rename); prints changed/unchanged. */
function installFile(path: string, content: string, mode = '0644'): string {
  const tmp = shellQuote(`${path}.bench-new`);
  return [
    `printf '%s' ${shellQuote(content)} >${tmp}`,
    `if [[ ! -L ${shellQuote(path)} ]] && cmp -s ${tmp} ${shellQuote(path)}; then rm -f ${tmp}; echo "unchanged: ${path}"; ` +
      `else chmod ${mode} ${tmp}; mv -f ${tmp} ${shellQuote(path)}; echo "changed: ${path}"; fi`,
  ].join('\n');
}

/** One bash script per task for parallel-ssh (`parallel-ssh -I … bash -s` sends it on stdin). */
export function psshScripts(v: BenchValues, tasks: ReadyTask[]): Array<{ tag: ReadyTask['tag']; script: string }> {
  const c = contents(v);
  const out: Array<{ tag: ReadyTask['tag']; script: string }> = [];
  for (const t of tasks) {
    if (t.tag === 'keys') {
      out.push({
        tag: 'keys',
        script: [
          '#!/bin/bash',
          'set -euo pipefail',
          'install -d -m 0700 /root/.ssh',
          installFile('/root/.ssh/authorized_keys', c.authorizedKeys, '0600'),
          '',
        ].join('\n'),
      });
    } else if (t.tag === 'hosts') {
      // network-config without IPAM allocations: the short hostname (Debian) and /etc/hosts.
      out.push({
        tag: 'hosts',
        script: [
          '#!/bin/bash',
          'set -euo pipefail',
          'h=$(cat /proc/sys/kernel/hostname); short=${h%%.*}',
          'echo "$short" >/etc/hostname.bench-new',
          'if cmp -s /etc/hostname.bench-new /etc/hostname; then rm -f /etc/hostname.bench-new; else mv -f /etc/hostname.bench-new /etc/hostname; echo "changed: /etc/hostname"; fi',
          '[[ $h == "$short" ]] || { hostname "$short"; echo "changed: hostname $short"; }',
          installFile('/etc/hosts', c.etcHosts),
          '',
        ].join('\n'),
      });
    } else if (t.tag === 'ntp') {
      out.push({
        tag: 'ntp',
        script: [
          '#!/bin/bash',
          'set -euo pipefail',
          'mkdir -p /etc/chrony',
          installFile('/etc/chrony/chrony.conf', c.chronyConf).replace(
            'echo "changed: /etc/chrony/chrony.conf"',
            'echo "changed: /etc/chrony/chrony.conf"; touch /run/bench-chrony-changed',
          ),
          'changed=false; if [[ -e /run/bench-chrony-changed ]]; then changed=true; rm -f /run/bench-chrony-changed; fi',
          `bash -c ${shellQuote(CHRONYD_START)} chronyd-start "$changed"`,
          `bash -c ${shellQuote(CHRONY_WAIT)} chrony-wait ${shellQuote(v.admin)}`,
          '',
        ].join('\n'),
      });
    } else if (t.tag === 'dns') {
      out.push({
        tag: 'dns',
        script: ['#!/bin/bash', 'set -euo pipefail', installFile('/etc/resolv.conf', c.resolvConf), ''].join('\n'),
      });
    } else if (t.tag === 'proxy') {
      out.push({
        tag: 'proxy',
        script: [
          '#!/bin/bash',
          'set -euo pipefail',
          'mkdir -p /etc/profile.d',
          installFile('/etc/profile.d/anneal-proxy.sh', c.proxyEnv),
          `if [[ -d /etc/apt/apt.conf.d ]]; then`,
          installFile('/etc/apt/apt.conf.d/80anneal-proxy', c.proxyApt),
          'fi',
          '',
        ].join('\n'),
      });
    } else {
      throw new Error(`bench:ready has no parallel-ssh equivalent for ${t.tag} (${t.role}) yet`);
    }
  }
  return out;
}

/** Extra vars for scripts/bench/ready-playbook.yml. */
export function playbookVars(v: BenchValues): Record<string, unknown> {
  const c = contents(v);
  return {
    bench_admin: v.admin,
    bench_authorized_keys: c.authorizedKeys,
    bench_etc_hosts: c.etcHosts,
    bench_chrony_conf: c.chronyConf,
    bench_resolv_conf: c.resolvConf,
    bench_proxy_env: c.proxyEnv,
    bench_proxy_apt: c.proxyApt,
    bench_chronyd_start: CHRONYD_START,
    bench_chrony_wait: CHRONY_WAIT,
  };
}

/** Files and the chronyd a task leaves on a node: saved once after `lab up`, restored before every contender. */
export const NODE_FILES = [
  '/etc/chrony/chrony.conf',
  '/etc/resolv.conf',
  '/etc/profile.d/anneal-proxy.sh',
  '/etc/apt/apt.conf.d/80anneal-proxy',
  '/etc/hosts',
  '/etc/hostname',
  '/root/.ssh/authorized_keys',
];

const SAVE_DIR = '/var/lib/anneal-bench-orig';

/** Saves the node's files as `lab up` left them (a file that did not exist is recorded as absent). */
export function snapshotScript(): string {
  return [
    'set -eu',
    `mkdir -p ${SAVE_DIR}`,
    `cat /proc/sys/kernel/hostname >${SAVE_DIR}/hostname`,
    ...NODE_FILES.map(
      (f, i) => `if [ -e ${f} ] || [ -L ${f} ]; then cp -a ${f} ${SAVE_DIR}/${i}; else rm -f ${SAVE_DIR}/${i}; fi`,
    ),
    'echo saved',
  ].join('\n');
}

/**
 * Puts the node back as `lab up` left it: chronyd (the one the pid file in the node's own /run names:
 * nodes share the host's pid namespace, so never by name) stopped, every task's file restored.
 */
export function resetScript(): string {
  return [
    'set -eu',
    'p=$(cat /run/chrony/chronyd.pid 2>/dev/null || true)',
    'if [ -n "$p" ] && [ "$(cat /proc/$p/comm 2>/dev/null)" = chronyd ]; then kill "$p"; for _ in $(seq 50); do [ -d /proc/$p ] || break; sleep 0.1; done; fi',
    'rm -f /run/chrony/chronyd.pid /var/lib/chrony/chrony.drift',
    `hostname "$(cat ${SAVE_DIR}/hostname)"`,
    ...NODE_FILES.map(
      (f, i) =>
        `rm -f ${f}; if [ -e ${SAVE_DIR}/${i} ] || [ -L ${SAVE_DIR}/${i} ]; then cp -a ${SAVE_DIR}/${i} ${f}; fi`,
    ),
    // Check it: no chronyd, the hostname and every file as saved.
    `[ "$(cat /proc/sys/kernel/hostname)" = "$(cat ${SAVE_DIR}/hostname)" ] || { echo "hostname not restored" >&2; exit 1; }`,
    'if [ -n "$p" ] && [ -d /proc/$p ] && [ "$(cat /proc/$p/comm 2>/dev/null)" = chronyd ]; then echo "chronyd $p still runs" >&2; exit 1; fi',
    ...NODE_FILES.map(
      (f, i) =>
        `if [ -e ${SAVE_DIR}/${i} ]; then cmp -s ${SAVE_DIR}/${i} ${f} || { echo "${f} not restored" >&2; exit 1; }; elif [ -e ${f} ]; then echo "${f} not removed" >&2; exit 1; fi`,
    ),
    'echo reset',
  ].join('\n');
}

/** Read-only probe of a node after a contender's run: one `key value` line per fact. */
export function probeScript(v: BenchValues): string {
  const first = v.nodes[0]!;
  return [
    'p=$(cat /run/chrony/chronyd.pid 2>/dev/null || true)',
    'if [ -n "$p" ] && [ "$(cat /proc/$p/comm 2>/dev/null)" = chronyd ]; then echo "chronyd $(tr "\\0" " " </proc/$p/cmdline)"; else echo "chronyd none"; fi',
    // When chronyd started, in epoch ms: its start in clock ticks since boot against /proc/uptime and date now.
    'if [ -n "$p" ] && [ -r /proc/$p/stat ]; then read -r up _ </proc/uptime; now=$(date +%s.%N); ' +
      'awk -v st="$(cut -d" " -f22 /proc/$p/stat)" -v hz="$(getconf CLK_TCK)" -v up="$up" -v now="$now" ' +
      '\'BEGIN { printf "chronyd-started %.0f\\n", (now - (up - st / hz)) * 1000 }\'; fi',
    `echo "chrony-server $(grep -c '^server ${v.admin} iburst prefer minpoll -4 maxpoll 6$' /etc/chrony/chrony.conf 2>/dev/null)"`,
    `echo "chrony-selected $(chronyc -n sources 2>/dev/null | awk '$1 == "^*" { print $2 }')"`,
    `echo "resolv-first $(awk '$1 == "nameserver" { print $2; exit }' /etc/resolv.conf 2>/dev/null)"`,
    `echo "resolv-search $(awk '$1 == "search" { print $2; exit }' /etc/resolv.conf 2>/dev/null)"`,
    // Through the node's resolver (dig reads resolv.conf, not /etc/hosts): the dns service answers.
    `echo "dns-answer $(dig +short +time=2 +tries=1 ${shellQuote(first.name.toLowerCase())} 2>/dev/null | head -n 1)"`,
    `echo "proxy-env $(. /etc/profile.d/anneal-proxy.sh 2>/dev/null; echo "\${http_proxy:-none}")"`,
    `echo "proxy-apt $(grep -c 'Acquire::http::Proxy "${proxyUrl(v)}";' /etc/apt/apt.conf.d/80anneal-proxy 2>/dev/null)"`,
    `ip=$(ip -4 -o addr show dev eth0 | awk '{ split($4, a, "/"); print a[1] }')`,
    'echo "hosts-own $(grep -c "^$ip " /etc/hosts 2>/dev/null)"',
    'echo "hostname $(cat /proc/sys/kernel/hostname) $(cat /etc/hostname 2>/dev/null)"',
    'echo "hosts-lines $(grep -cv "^[[:space:]]*\\(#\\|$\\)" /etc/hosts 2>/dev/null)"',
    `echo "authorized-keys $(grep -v '^#' /root/.ssh/authorized_keys 2>/dev/null | awk 'NF { print $1 " " $2 }' | LC_ALL=C sort | paste -sd'|')"`,
  ].join('\n');
}

/** probeScript's output as key → value. */
export function parseProbe(out: string): Map<string, string> {
  const got = new Map<string, string>();
  for (const line of out.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp > 0) got.set(line.slice(0, sp), line.slice(sp + 1).trim());
    else if (line) got.set(line, '');
  }
  return got;
}

/** What is wrong on a node for the tasks run (empty: configured), from probeScript's parsed output. */
export function verifyProbe(v: BenchValues, tasks: ReadyTask[], got: Map<string, string>): string[] {
  const bad: string[] = [];
  const expect = (key: string, ok: (s: string) => boolean, what: string) => {
    const s = got.get(key) ?? '';
    if (!ok(s)) bad.push(`${what} (${key}: ${JSON.stringify(s)})`);
  };
  for (const t of tasks) {
    if (t.tag === 'keys') {
      // Every key, each once, and nothing else (comments aside).
      const want = v.authorizedKeys.map((k) => k.split(' ').slice(0, 2).join(' ')).sort();
      expect('authorized-keys', (s) => s === want.join('|'), `authorized_keys holds exactly the ${want.length} keys`);
    } else if (t.tag === 'hosts') {
      expect('hosts-lines', (s) => s === String(v.nodes.length + 4), `/etc/hosts has ${v.nodes.length + 4} entries`);
      expect('hosts-own', (s) => s === '1', 'its own address is in /etc/hosts once');
      expect('hostname', (s) => /^([a-z0-9-]+) \1$/.test(s), 'the short hostname, running and in /etc/hostname');
    } else if (t.tag === 'ntp') {
      expect('chrony-server', (s) => s === '1', `chrony.conf names ${v.admin} as preferred server`);
      expect('chronyd', (s) => /^chronyd -x .*-f \/etc\/chrony\/chrony\.conf/.test(s), 'chronyd -x runs');
      expect('chrony-selected', (s) => s === v.admin, `chronyd selected ${v.admin}`);
    } else if (t.tag === 'dns') {
      expect('resolv-first', (s) => s === v.admin, `first nameserver is ${v.admin}`);
      expect('resolv-search', (s) => s === v.domain, `search domain is ${v.domain}`);
      expect('dns-answer', (s) => s === v.nodes[0]!.ip, `${v.nodes[0]!.name} resolves through the dns service`);
    } else if (t.tag === 'proxy') {
      expect('proxy-env', (s) => s === proxyUrl(v), `http_proxy is ${proxyUrl(v)}`);
      expect('proxy-apt', (s) => s === '1', 'apt proxy configured');
    }
  }
  return bad;
}
