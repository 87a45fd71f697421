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

/** In the order the issue lists them; only those whose role exists in barclamps/index.ts are run. */
export const READY_TASKS: ReadyTask[] = [
  { tag: 'keys', role: 'ssh-access' },
  { tag: 'ntp', role: 'ntp-client' },
  { tag: 'dns', role: 'dns-client' },
  { tag: 'proxy', role: 'proxy-client' },
  { tag: 'hosts', role: 'network-config' },
];

export interface BenchValues {
  admin: string;
  domain: string;
  proxyPort: number;
  noProxy: string[];
  /** Every lab node (name, address): /etc/hosts lines and the dns check. */
  nodes: Array<{ name: string; ip: string }>;
}

export function proxyUrl(v: BenchValues): string {
  return `http://${v.admin}:${v.proxyPort}/`;
}

/** The files each task writes, with the content the anneal role writes (see the role's template). */
export function contents(v: BenchValues) {
  const url = proxyUrl(v);
  const np = v.noProxy.join(',');
  return {
    chronyConf: [
      '# Managed by anneal-bench (ntp); local edits are overwritten.',
      '# chronyd options: -x',
      `server ${v.admin} iburst prefer`,
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

/** Writes `content` to `path` when it differs (as the roles do); prints changed/unchanged. */
function installFile(path: string, content: string): string {
  return [
    `printf '%s' ${shellQuote(content)} >${shellQuote(`${path}.bench-new`)}`,
    `if cmp -s ${shellQuote(`${path}.bench-new`)} ${shellQuote(path)}; then rm -f ${shellQuote(`${path}.bench-new`)}; echo "unchanged: ${path}"; ` +
      `else chmod 0644 ${shellQuote(`${path}.bench-new`)}; rm -f ${shellQuote(path)}; mv ${shellQuote(`${path}.bench-new`)} ${shellQuote(path)}; echo "changed: ${path}"; fi`,
  ].join('\n');
}

/** One bash script per task for parallel-ssh (`parallel-ssh -I … bash -s` sends it on stdin). */
export function psshScripts(v: BenchValues, tasks: ReadyTask[]): Array<{ tag: ReadyTask['tag']; script: string }> {
  const c = contents(v);
  const out: Array<{ tag: ReadyTask['tag']; script: string }> = [];
  for (const t of tasks) {
    if (t.tag === 'ntp') {
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
  '/root/.ssh/authorized_keys',
];

const SAVE_DIR = '/var/lib/anneal-bench-orig';

/** Saves the node's files as `lab up` left them (a file that did not exist is recorded as absent). */
export function snapshotScript(): string {
  return [
    'set -eu',
    `mkdir -p ${SAVE_DIR}`,
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
    ...NODE_FILES.map(
      (f, i) =>
        `rm -f ${f}; if [ -e ${SAVE_DIR}/${i} ] || [ -L ${SAVE_DIR}/${i} ]; then cp -a ${SAVE_DIR}/${i} ${f}; fi`,
    ),
    // Check it: no chronyd, every file as saved.
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
    `echo "chrony-server $(grep -c '^server ${v.admin} iburst prefer$' /etc/chrony/chrony.conf 2>/dev/null)"`,
    `echo "chrony-selected $(chronyc -n sources 2>/dev/null | awk '$1 == "^*" { print $2 }')"`,
    `echo "resolv-first $(awk '$1 == "nameserver" { print $2; exit }' /etc/resolv.conf 2>/dev/null)"`,
    `echo "resolv-search $(awk '$1 == "search" { print $2; exit }' /etc/resolv.conf 2>/dev/null)"`,
    // Through the node's resolver (dig reads resolv.conf, not /etc/hosts): the dns service answers.
    `echo "dns-answer $(dig +short +time=2 +tries=1 ${shellQuote(first.name.toLowerCase())} 2>/dev/null | head -n 1)"`,
    `echo "proxy-env $(. /etc/profile.d/anneal-proxy.sh 2>/dev/null; echo "\${http_proxy:-none}")"`,
    `echo "proxy-apt $(grep -c 'Acquire::http::Proxy "${proxyUrl(v)}";' /etc/apt/apt.conf.d/80anneal-proxy 2>/dev/null)"`,
    'echo "hosts-lines $(grep -cv "^[[:space:]]*\\(#\\|$\\)" /etc/hosts 2>/dev/null)"',
    'echo "authorized-keys $(grep -c . /root/.ssh/authorized_keys 2>/dev/null)"',
  ].join('\n');
}

/** What is wrong on a node for the tasks run (empty: configured), from probeScript's output. */
export function verifyProbe(v: BenchValues, tasks: ReadyTask[], out: string): string[] {
  const got = new Map<string, string>();
  for (const line of out.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp > 0) got.set(line.slice(0, sp), line.slice(sp + 1).trim());
    else if (line) got.set(line, '');
  }
  const bad: string[] = [];
  const expect = (key: string, ok: (s: string) => boolean, what: string) => {
    const s = got.get(key) ?? '';
    if (!ok(s)) bad.push(`${what} (${key}: ${JSON.stringify(s)})`);
  };
  for (const t of tasks) {
    if (t.tag === 'ntp') {
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
