'use strict';
/* global fetch, AbortSignal */
/**
 * The lab's built-in network boot: what a lab node's firmware and OS installer would do when it powers on
 * with next boot = pxe (docs/lab.md, docs/provisioner.md). bmc-control.sh runs it inside the node's
 * namespaces (`nsenter -t <init> -m -u -n`), with node's built-in modules only, reading this file on stdin
 * (the lab's bin directory is hidden inside nodes):
 *
 *   ANNEAL_PXE_INSTALL=1 node - <annealUrl> <mac of the boot NIC>
 *
 * 1. Fetches `<annealUrl>/provision/boot/<mac>` (the iPXE script). A script that `exit`s, or no answer
 *    at all, means "boot the next device": exit 0 (disk boot).
 * 2. Takes the install config's URL from the `kernel` arguments: cloud-init `ds=nocloud-net;s=<seed>`,
 *    kickstart `inst.ks=`, preseed `url=` (checked in that order: Ubuntu's `url=` is its ISO).
 * 3. Fetches the config and acts as the installer on the node's own root: os-release of the chosen OS,
 *    hostname (/etc/hostname, /etc/hosts, the UTS name), root's authorized keys, the boot NIC's network
 *    config in the OS's format, the list of packages the installer would install
 *    (/var/log/anneal-install/packages.list: nothing is really installed), copies of the artifacts in
 *    /var/log/anneal-install/.
 * 4. Runs the config's post-install commands as that installer would, in the node: preseed
 *    `preseed/late_command` (sh -c, `in-target` runs its arguments), kickstart `%post` sections (their
 *    interpreter), cloud-init `runcmd` (argv lists executed directly). These call back install-complete.
 *
 * Contract: exit 0 = the node boots from disk; exit 1 = the install failed (the node stays up without
 * services, like a machine stuck in its installer), with the reason on stderr. Config values are parsed
 * as data and never evaluated by a shell; only the post-install commands run, as the real installer runs
 * them. Configs are fetched only from the origin of <annealUrl>. Install tokens are not logged.
 */
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');

const LOG_DIR = '/var/log/anneal-install';
const SHIM_DIR = '/run/anneal-install/bin';
const FETCH_TIMEOUT_MS = 5_000;
const POST_TIMEOUT_MS = 300_000;
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
const MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const KEY_LINE = /^[a-z0-9@.-]+ [A-Za-z0-9+/]+={0,2}(?: [\x20-\x7e]*)?$/;

class InstallError extends Error {}
const fail = (msg) => {
  throw new InstallError(msg);
};
const redact = (s) => String(s).replace(/installs\/[0-9a-f]{64}/g, 'installs/<token>');

// ---- parsing (pure) -------------------------------------------------------------------------------

/** iPXE script → {kind: 'local'} or {kind: 'install', kernel, initrd, args}. */
function parseIpxe(text) {
  const lines = text.split('\n');
  if (!/^#!ipxe\s*$/.test(lines[0] || '')) fail('the boot script does not start with #!ipxe');
  let kernel = null;
  let initrd = null;
  for (const raw of lines.slice(1)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [cmd, ...rest] = line.split(/\s+/);
    // Leading options: `--name=x`, `--name x`, `--timeout x`, `--autofree`, …
    while (rest[0]?.startsWith('--')) {
      const opt = rest.shift();
      if (/^--(name|timeout)$/.test(opt)) rest.shift();
    }
    const operands = rest;
    switch (cmd) {
      case 'exit':
        if (!kernel) return { kind: 'local' };
        break;
      case 'kernel':
        if (!operands[0]) fail('kernel without an image');
        kernel = { image: operands[0], args: operands.slice(1) };
        break;
      case 'initrd':
        initrd = operands[0] || fail('initrd without an image');
        break;
      case 'boot':
        if (!kernel) fail('boot without a kernel');
        return { kind: 'install', kernel: kernel.image, initrd, args: kernel.args };
      case 'echo':
      case 'sleep':
        break;
      default:
        fail(`unsupported iPXE command ${JSON.stringify(cmd)}`);
    }
  }
  fail('the boot script neither boots a kernel nor exits');
}

/** Kernel arguments → where the install config is, by installer. */
function configSource(args) {
  const value = (prefix) => args.find((a) => a.startsWith(prefix))?.slice(prefix.length);
  const ds = args.find((a) => /^ds=nocloud(-net)?;/.test(a));
  if (ds) {
    const seed = /;(?:s|seedfrom)=(.+)$/.exec(ds)?.[1] || fail(`no seed URL in ${ds}`);
    return { format: 'cloud-init', url: seed, iso: value('url=') ?? null };
  }
  const ks = value('inst.ks=') ?? value('ks=');
  if (ks) return { format: 'kickstart', url: ks };
  const preseed = value('url=') ?? value('preseed/url=');
  if (preseed) return { format: 'preseed', url: preseed };
  return fail('the kernel arguments name no install config (url=, inst.ks= or ds=nocloud-net;s=)');
}

/** POSIX shell word splitting as kickstart's parser does it (quotes, backslashes, # comments); no expansion. */
function shellWords(line) {
  const out = [];
  let cur = null;
  for (let i = 0; i < line.length;) {
    const c = line[i];
    if (c === "'") {
      const j = line.indexOf("'", i + 1);
      if (j < 0) fail('unterminated single quote');
      cur = (cur ?? '') + line.slice(i + 1, j);
      i = j + 1;
    } else if (c === '"') {
      let s = '';
      i++;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\' && '"\\$`'.includes(line[i + 1] ?? '')) i++;
        s += line[i++];
      }
      if (i >= line.length) fail('unterminated double quote');
      cur = (cur ?? '') + s;
      i++;
    } else if (c === '\\') {
      cur = (cur ?? '') + (line[i + 1] ?? '');
      i += 2;
    } else if (/\s/.test(c)) {
      if (cur !== null) out.push(cur);
      cur = null;
      i++;
    } else if (c === '#' && cur === null) {
      break;
    } else {
      cur = (cur ?? '') + c;
      i++;
    }
  }
  if (cur !== null) out.push(cur);
  return out;
}

/** `--name=value` / `--flag` options of a kickstart command. */
function options(argv) {
  const o = {};
  for (const w of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(w);
    if (m) o[m[1]] = m[2] ?? true;
  }
  return o;
}

function parsePreseed(text) {
  const q = new Map();
  const joined = text.replace(/\\\n/g, ' ');
  for (const line of joined.split('\n')) {
    if (/^\s*(#|$)/.test(line)) continue;
    const m = /^(\S+)\s+(\S+)\s+(\S+)(?:[ \t](.*))?$/.exec(line);
    if (!m) fail(`preseed: cannot parse a line (${line.length} characters)`);
    q.set(m[2], (m[4] ?? '').trim());
  }
  return q;
}

function parseKickstart(text) {
  const commands = [];
  const packages = [];
  const post = [];
  let section = null;
  let body = [];
  for (const line of text.split('\n')) {
    if (section) {
      if (line.trim() === '%end') {
        if (section.kind === 'post') post.push({ opts: section.opts, body: body.join('\n') + '\n' });
        section = null;
        body = [];
      } else if (section.kind === 'packages') {
        const pkg = line.trim();
        if (pkg && !pkg.startsWith('#')) packages.push(pkg);
      } else body.push(line);
      continue;
    }
    const words = shellWords(line);
    if (words.length === 0) continue;
    const [cmd, ...argv] = words;
    if (cmd.startsWith('%')) {
      section = { kind: cmd.slice(1), opts: options(argv) };
      continue;
    }
    commands.push({ cmd, argv, opts: options(argv) });
  }
  if (section) fail(`kickstart: %${section.kind} has no %end`);
  return { commands, packages, post };
}

/** `#cloud-config` + JSON (the provisioner's format: JSON is YAML) → object. */
function parseCloudConfig(text, what) {
  const body = text.startsWith('#cloud-config') ? text.slice(text.indexOf('\n') + 1) : text;
  try {
    return JSON.parse(body);
  } catch {
    return fail(`${what}: the lab reads cloud-config written as JSON (as anneal renders it), not general YAML`);
  }
}

const DEBIAN = { bookworm: '12', trixie: '13' };
const UBUNTU = { 24.04: ['noble', 'Noble Numbat'], 22.04: ['jammy', 'Jammy Jellyfish'] };

function prefixOf(netmask) {
  if (!IPV4.test(netmask)) fail('netmask is not an IPv4 netmask');
  const bits = netmask.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  const prefix = 32 - Math.log2(2 ** 32 - bits);
  if (!Number.isInteger(prefix)) fail('netmask is not contiguous');
  return prefix;
}

function checkStatic(net) {
  if (!IPV4.test(net.address) || !IPV4.test(net.gateway) || !net.nameservers.every((n) => IPV4.test(n))) {
    fail('static network: an address, gateway or name server is not an IPv4 address');
  }
  if (!Number.isInteger(net.prefix) || net.prefix < 1 || net.prefix > 32) fail('static network: bad prefix');
  return net;
}

/** Preseed → install plan. */
function planPreseed(q) {
  const suite = q.get('mirror/suite') || fail('preseed: no mirror/suite');
  const versionId = DEBIAN[suite] || fail(`preseed: unknown Debian suite ${JSON.stringify(suite)}`);
  const domain = q.get('netcfg/get_domain');
  const hostname = q.get('netcfg/hostname') || [q.get('netcfg/get_hostname'), domain].filter(Boolean).join('.');
  const network =
    q.get('netcfg/disable_autoconfig') === 'true'
      ? checkStatic({
          mode: 'static',
          address: q.get('netcfg/get_ipaddress'),
          prefix: prefixOf(q.get('netcfg/get_netmask') || ''),
          gateway: q.get('netcfg/get_gateway'),
          nameservers: (q.get('netcfg/get_nameservers') || '').split(/\s+/).filter(Boolean),
        })
      : { mode: 'dhcp' };
  const late = q.get('preseed/late_command');
  return {
    os: { id: 'debian', versionId, codename: suite },
    hostname,
    authorizedKeys: null, // d-i has no such setting: the late command writes them
    network,
    packages: (q.get('pkgsel/include') || '').split(/[\s,]+/).filter(Boolean),
    post: late ? [{ kind: 'shell', command: late }] : [],
  };
}

/** Kickstart → install plan. */
function planKickstart(ks) {
  const cmd = (name) => ks.commands.filter((c) => c.cmd === name);
  const repo = cmd('url')[0]?.opts.url || fail('kickstart: no url --url=');
  const versionId =
    /\/rocky\/(\d+(?:\.\d+)?)\//.exec(repo)?.[1] || fail('kickstart: the repository is not Rocky Linux');
  const net = cmd('network')[0]?.opts || {};
  const network =
    net.bootproto === 'static'
      ? checkStatic({
          mode: 'static',
          address: net.ip,
          prefix: prefixOf(net.netmask || ''),
          gateway: net.gateway,
          nameservers: String(net.nameserver || '')
            .split(',')
            .filter(Boolean),
        })
      : { mode: 'dhcp' };
  const keys = cmd('sshkey')
    .filter((c) => c.opts.username === 'root')
    .map((c) => c.argv.filter((w) => !w.startsWith('--')).join(' '));
  return {
    os: { id: 'rocky', versionId, codename: 'Blue Onyx' },
    hostname: typeof net.hostname === 'string' ? net.hostname : fail('kickstart: network has no --hostname'),
    authorizedKeys: keys,
    network,
    packages: ks.packages,
    post: ks.post.map((p) => ({
      kind: 'script',
      interpreter: typeof p.opts.interpreter === 'string' ? p.opts.interpreter : '/bin/sh',
      log: typeof p.opts.log === 'string' ? p.opts.log : null,
      body: p.body,
    })),
  };
}

/** Ubuntu autoinstall (cloud-init NoCloud user-data) → install plan. */
function planCloudInit(userData, iso) {
  const ai = userData.autoinstall || fail('user-data: no autoinstall section');
  const versionId = /ubuntu-(\d+\.\d+)/.exec(iso || '')?.[1] || fail('cloud-init: the url= ISO is not Ubuntu');
  const ud = ai['user-data'] || {};
  const root = (ud.users || []).find((u) => u && u.name === 'root');
  const eth = Object.values(ai.network?.ethernets || {})[0] || {};
  let network = { mode: 'dhcp' };
  if (!eth.dhcp4) {
    const [address, prefix] = String((eth.addresses || [])[0] || '').split('/');
    network = checkStatic({
      mode: 'static',
      address,
      prefix: Number(prefix),
      gateway: (eth.routes || []).find((r) => r.to === 'default')?.via,
      nameservers: eth.nameservers?.addresses || [],
    });
  }
  const runcmd = Array.isArray(ud.runcmd) ? ud.runcmd : [];
  return {
    os: { id: 'ubuntu', versionId, codename: (UBUNTU[versionId] || [versionId])[0] },
    hostname: ud.fqdn || ud.hostname || fail('user-data: no hostname'),
    authorizedKeys: root ? root.ssh_authorized_keys || [] : null,
    network,
    netplan: ai.network || null,
    packages: Array.isArray(ai.packages) ? ai.packages : [],
    post: runcmd.map((c) =>
      Array.isArray(c) ? { kind: 'argv', argv: c.map(String) } : { kind: 'shell', command: String(c) },
    ),
  };
}

/** Checks a plan's values are data the installer can write (no line breaks, valid names and keys). */
function checkPlan(plan) {
  if (!HOSTNAME.test(plan.hostname)) fail('the hostname is not a valid host name');
  for (const k of plan.authorizedKeys || []) if (!KEY_LINE.test(k)) fail('an authorized key is not one key line');
  for (const p of plan.packages) if (!/^[A-Za-z0-9@^][A-Za-z0-9+._@^-]*$/.test(p)) fail('a package name is invalid');
  return plan;
}

function osRelease(os) {
  const lines = {
    debian: [
      `PRETTY_NAME="Debian GNU/Linux ${os.versionId} (${os.codename})"`,
      'NAME="Debian GNU/Linux"',
      `VERSION_ID="${os.versionId}"`,
      `VERSION="${os.versionId} (${os.codename})"`,
      `VERSION_CODENAME=${os.codename}`,
      'ID=debian',
      'HOME_URL="https://www.debian.org/"',
    ],
    ubuntu: [
      `PRETTY_NAME="Ubuntu ${os.versionId} LTS"`,
      'NAME="Ubuntu"',
      `VERSION_ID="${os.versionId}"`,
      `VERSION="${os.versionId} LTS (${(UBUNTU[os.versionId] || ['', ''])[1]})"`,
      `VERSION_CODENAME=${os.codename}`,
      'ID=ubuntu',
      'ID_LIKE=debian',
      'HOME_URL="https://www.ubuntu.com/"',
      `UBUNTU_CODENAME=${os.codename}`,
    ],
    rocky: [
      'NAME="Rocky Linux"',
      `VERSION="${os.versionId} (${os.codename})"`,
      'ID="rocky"',
      'ID_LIKE="rhel centos fedora"',
      `VERSION_ID="${os.versionId}"`,
      `PLATFORM_ID="platform:el${os.versionId.split('.')[0]}"`,
      `PRETTY_NAME="Rocky Linux ${os.versionId} (${os.codename})"`,
      'HOME_URL="https://rockylinux.org/"',
    ],
  }[os.id];
  return `${lines.join('\n')}\n`;
}

/** A small YAML emitter for netplan (mappings, sequences, scalars; strings JSON-quoted). */
function yaml(value, indent = '') {
  if (Array.isArray(value)) {
    return value
      .map((v) => `${indent}-${isObj(v) || Array.isArray(v) ? `\n${yaml(v, `${indent}  `)}` : ` ${scalar(v)}\n`}`)
      .join('');
  }
  return Object.entries(value)
    .map(([k, v]) =>
      isObj(v) || Array.isArray(v)
        ? `${indent}${scalar(k)}:\n${yaml(v, `${indent}  `)}`
        : `${indent}${scalar(k)}: ${scalar(v)}\n`,
    )
    .join('');
}
const isObj = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const scalar = (v) => (typeof v === 'string' ? JSON.stringify(v) : String(v));

/** The network config file of the installed OS for the NIC `ifname` with `mac`. */
function networkFile(plan, ifname, mac) {
  const n = plan.network;
  switch (plan.os.id) {
    case 'debian': {
      const iface =
        n.mode === 'static'
          ? [
              `iface ${ifname} inet static`,
              `    address ${n.address}/${n.prefix}`,
              `    gateway ${n.gateway}`,
              ...(n.nameservers.length ? [`    dns-nameservers ${n.nameservers.join(' ')}`] : []),
            ]
          : [`iface ${ifname} inet dhcp`];
      const text = [
        'source /etc/network/interfaces.d/*',
        '',
        'auto lo',
        'iface lo inet loopback',
        '',
        `auto ${ifname}`,
        ...iface,
      ];
      return { path: '/etc/network/interfaces', mode: 0o644, text: `${text.join('\n')}\n` };
    }
    case 'rocky': {
      const ipv4 =
        n.mode === 'static'
          ? [
              `method=manual`,
              `address1=${n.address}/${n.prefix},${n.gateway}`,
              ...(n.nameservers.length ? [`dns=${n.nameservers.join(';')};`] : []),
            ]
          : ['method=auto'];
      const text = [
        '[connection]', `id=${ifname}`, 'type=ethernet', `interface-name=${ifname}`, 'autoconnect=true', '',
        '[ethernet]', `mac-address=${mac}`, '', '[ipv4]', ...ipv4, '', '[ipv6]', 'method=disabled',
      ]; // prettier-ignore
      return {
        path: `/etc/NetworkManager/system-connections/${ifname}.nmconnection`,
        mode: 0o600,
        text: `${text.join('\n')}\n`,
      };
    }
    case 'ubuntu':
      return {
        path: '/etc/netplan/00-installer-config.yaml',
        mode: 0o600,
        text: yaml({ network: plan.netplan || {} }),
      };
  }
  return fail('unknown OS');
}

// ---- effects (inside the node) ------------------------------------------------------------------

function writeFile(file, text, mode = 0o644) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.anneal-tmp`;
  fs.writeFileSync(tmp, text, { mode });
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file); // replaces a symlink (e.g. /etc/os-release) rather than writing through it
}

async function fetchText(url, origin, what) {
  const u = new URL(url);
  if (u.origin !== origin) fail(`${what}: ${redact(url)} is not on the provisioner ${origin}`);
  let last;
  for (let i = 1; i <= 3; i++) {
    try {
      const res = await fetch(u, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
      const body = await res.text();
      if (res.ok) return body;
      last = `HTTP ${res.status}`;
      if (res.status >= 400 && res.status < 500) break;
    } catch (e) {
      last = e.cause?.code || e.message;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return fail(`${what}: GET ${redact(url)} failed (${last})`);
}

/** The node's interface with `mac` (from netlink: /sys shows the host's interfaces inside a node). */
function interfaceOf(mac) {
  const out = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
  for (const line of out.split('\n')) {
    const m = /^\d+: ([^:@]+)[^\n]*link\/ether ([0-9a-f:]+)/.exec(line);
    if (m && m[2] === mac) return m[1];
  }
  return fail(`no interface has MAC ${mac}`);
}

function apply(plan, mac) {
  fs.mkdirSync(LOG_DIR, { recursive: true, mode: 0o700 });
  writeFile('/etc/os-release', osRelease(plan.os));
  writeFile('/etc/hostname', `${plan.hostname}\n`);
  const short = plan.hostname.split('.')[0];
  let hosts = '';
  try {
    hosts = fs.readFileSync('/etc/hosts', 'utf8');
  } catch {
    hosts = '127.0.0.1\tlocalhost\n';
  }
  const kept = hosts.split('\n').filter((l) => l !== '' && !/^127\.0\.1\.1\s/.test(l));
  writeFile('/etc/hosts', `${[...kept, `127.0.1.1\t${plan.hostname} ${short}`].join('\n')}\n`);
  execFileSync('hostname', [plan.hostname]);
  const net = networkFile(plan, interfaceOf(mac), mac);
  writeFile(net.path, net.text, net.mode);
  writeFile(`${LOG_DIR}/packages.list`, plan.packages.map((p) => `${p}\n`).join(''));
  if (plan.authorizedKeys) {
    fs.mkdirSync('/root/.ssh', { recursive: true, mode: 0o700 });
    fs.chmodSync('/root/.ssh', 0o700);
    writeFile('/root/.ssh/authorized_keys', plan.authorizedKeys.map((k) => `${k}\n`).join(''), 0o600);
  }
  return net.path;
}

function runPost(plan) {
  writeFile(
    `${SHIM_DIR}/in-target`,
    '#!/bin/sh\n# the lab installs into the node itself: run the command there\nexec "$@"\n',
    0o755,
  );
  const env = { PATH: `${SHIM_DIR}:/usr/sbin:/usr/bin:/sbin:/bin`, HOME: '/root', LANG: 'C.UTF-8' };
  plan.post.forEach((step, i) => {
    let argv;
    if (step.kind === 'argv') argv = step.argv;
    else if (step.kind === 'shell') argv = ['/bin/sh', '-c', step.command];
    else {
      const file = `/run/anneal-install/post-${i}`;
      writeFile(file, step.body, 0o700);
      argv = [step.interpreter, file];
    }
    const res = spawnSync(argv[0], argv.slice(1), {
      cwd: '/',
      env,
      encoding: 'utf8',
      timeout: POST_TIMEOUT_MS,
      killSignal: 'SIGKILL',
    });
    const output = `${res.stdout || ''}${res.stderr || ''}`;
    if (step.log) fs.appendFileSync(step.log, output);
    process.stdout.write(redact(output));
    if (res.error || res.status !== 0) {
      fail(
        `post-install step ${i + 1} (${step.kind}) ${res.error ? res.error.message : `exited ${res.status ?? res.signal}`}`,
      );
    }
  });
}

async function main() {
  const [annealUrl, macArg] = process.argv.slice(2);
  const origin = new URL(annealUrl).origin;
  const mac = String(macArg || '').toLowerCase();
  if (!MAC.test(mac)) fail('usage: pxe-install <annealUrl> <mac>');
  const t0 = Date.now();
  let script;
  try {
    script = await fetchText(`${origin}/provision/boot/${mac}`, origin, 'iPXE script');
  } catch (e) {
    console.log(`pxe: ${e.message}; no boot script, falling through to the next boot device (disk)`);
    return 0;
  }
  const boot = parseIpxe(script);
  if (boot.kind === 'local') {
    console.log('pxe: the boot script exits: booting from the local disk');
    return 0;
  }
  const src = configSource(boot.args);
  console.log(`pxe: ${src.format} install, config ${redact(src.url)}`);
  const files = { 'boot.ipxe': script };
  let plan;
  if (src.format === 'cloud-init') {
    files['user-data'] = await fetchText(`${src.url}user-data`, origin, 'user-data');
    files['meta-data'] = await fetchText(`${src.url}meta-data`, origin, 'meta-data');
    parseCloudConfig(files['meta-data'], 'meta-data');
    plan = planCloudInit(parseCloudConfig(files['user-data'], 'user-data'), src.iso);
  } else if (src.format === 'kickstart') {
    files['kickstart.cfg'] = await fetchText(src.url, origin, 'kickstart');
    plan = planKickstart(parseKickstart(files['kickstart.cfg']));
  } else {
    files['preseed.cfg'] = await fetchText(src.url, origin, 'preseed');
    plan = planPreseed(parsePreseed(files['preseed.cfg']));
  }
  checkPlan(plan);
  const netFile = apply(plan, mac);
  for (const [name, text] of Object.entries(files)) writeFile(`${LOG_DIR}/${name}`, text, 0o600);
  console.log(
    `pxe: installed ${plan.os.id} ${plan.os.versionId} as ${plan.hostname} (network: ${netFile}, ${plan.packages.length} packages)`,
  );
  runPost(plan);
  console.log(`pxe: install finished in ${Date.now() - t0} ms; booting from disk`);
  return 0;
}

module.exports = {
  parseIpxe,
  configSource,
  shellWords,
  parsePreseed,
  parseKickstart,
  parseCloudConfig,
  planPreseed,
  planKickstart,
  planCloudInit,
  checkPlan,
  osRelease,
  networkFile,
  yaml,
  InstallError,
};

if (process.env.ANNEAL_PXE_INSTALL === '1') {
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error(`pxe: install failed: ${redact(e instanceof InstallError ? e.message : e.stack || e)}`);
      process.exit(1);
    },
  );
}
