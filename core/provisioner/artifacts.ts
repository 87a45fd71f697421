/**
 * The data every install artifact renders from, and which artifacts an OS has. Pure.
 *
 * Contract: values that reach a format without quoting (iPXE lines, preseed values, kickstart
 * %packages, the names in comments) are checked here by {@link wordSafe}; anything else throws
 * ERR_TEMPLATE_RENDER naming the field (never the value). Shell contexts in the templates still quote
 * every value with `shq`, and JSON/YAML contexts use `json`.
 */
import type { InstallParams, InstallRecord } from '../domain/installs';
import { AppError } from '../errors';
import { osCatalog, type OsEntry } from './os-catalog';

/** Printable ASCII without whitespace, quotes, `$`, `#`, `\`, backtick, `;`-free except where allowed. */
const WORD = /^[A-Za-z0-9._:/=?&%,+@-]+$/;

/** Throws ERR_TEMPLATE_RENDER unless `value` is one safe word (for formats without quoting). */
export function wordSafe(field: string, value: string, allowSemicolon = false): string {
  const v = allowSemicolon ? value.replace(/;/g, '') : value;
  if (v.length === 0 || v.length > 2048 || !WORD.test(v)) {
    throw new AppError('ERR_TEMPLATE_RENDER', `install artifact: ${field} is not safe to render unquoted`, {
      details: { field },
    });
  }
  return value;
}

export function netmaskOf(prefix: number): string {
  const bits = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (bits >>> s) & 255).join('.');
}

/** URLs of one install as the booting machine sees them (`base` is the provisioner URL, no trailing slash). */
export function installUrls(base: string, token: string) {
  const dir = `${base}/provision/installs/${token}/`;
  return {
    /** The directory cloud-init's NoCloud source reads `user-data` and `meta-data` from. */
    seed: dir,
    postInstall: `${dir}post-install.sh`,
    complete: `${dir}complete`,
    artifact: (name: string) => `${dir}${name}`,
  };
}

/** The template an artifact renders from, or null when the install's OS has no such artifact. */
export function artifactTemplate(install: Pick<InstallRecord, 'os'>, name: string): string | null {
  return osCatalog[install.os].artifacts.includes(name) ? `${name}.hbs` : null;
}

function netplanOf(p: InstallParams): Record<string, unknown> {
  const nic: Record<string, unknown> = { match: { macaddress: p.mac } };
  if (p.network.mode === 'dhcp') nic.dhcp4 = true;
  else {
    nic.addresses = [`${p.network.address}/${p.network.prefix}`];
    nic.routes = [{ to: 'default', via: p.network.gateway }];
    nic.nameservers = { addresses: p.network.nameservers };
  }
  return { version: 2, ethernets: { boot: nic } };
}

function kernelArgs(os: OsEntry, p: InstallParams, urls: ReturnType<typeof installUrls>): string[] {
  const [short = p.hostname, ...rest] = p.hostname.split('.');
  switch (os.format) {
    case 'preseed':
      return [
        'auto=true',
        'priority=critical',
        `url=${urls.artifact(os.configArtifact)}`,
        `hostname=${short}`,
        ...(rest.length ? [`domain=${rest.join('.')}`] : []),
        'interface=auto',
      ];
    case 'kickstart':
      return [`inst.repo=${os.repo}`, `inst.ks=${urls.artifact(os.configArtifact)}`, 'ip=dhcp', 'inst.text'];
    case 'cloud-init':
      return ['ip=dhcp', `url=${os.iso}`, 'autoinstall', `ds=nocloud-net;s=${urls.seed}`, 'cloud-config-url=/dev/null'];
  }
}

/** The data of the iPXE script and every artifact of `install`, with `token` in its URLs. */
export function artifactData(install: InstallRecord, base: string, token: string) {
  const p = install.params;
  const os = osCatalog[install.os];
  const urls = installUrls(base, token);
  const [shortName = p.hostname, ...domain] = p.hostname.split('.');
  const packages = [...new Set([...os.basePackages, ...p.packages])];
  const network =
    p.network.mode === 'static'
      ? {
          dhcp: false,
          static: true,
          address: p.network.address,
          prefix: p.network.prefix,
          netmask: netmaskOf(p.network.prefix),
          gateway: p.network.gateway,
          nameservers: p.network.nameservers,
          nameserversCsv: p.network.nameservers.join(','),
        }
      : { dhcp: true, static: false, nameservers: [] as string[] };
  const args = kernelArgs(os, p, urls);

  wordSafe('node.name', p.hostname);
  wordSafe('node.mac', p.mac);
  wordSafe('base URL', base);
  for (const [i, pkg] of packages.entries()) wordSafe(`packages[${i}]`, pkg);
  for (const [i, a] of args.entries()) wordSafe(`kernel argument ${i}`, a, true);
  if (network.static) {
    for (const [k, v] of Object.entries({ address: network.address, gateway: network.gateway })) wordSafe(k, v ?? '');
    for (const [i, ns] of network.nameservers.entries()) wordSafe(`nameservers[${i}]`, ns);
  }

  return {
    install: { id: install.id, os: install.os },
    node: { name: p.hostname, shortName, domain: domain.join('.'), mac: p.mac },
    os,
    urls: { ...urls, config: urls.artifact(os.configArtifact) },
    kernelArgs: args,
    authorizedKeys: p.authorizedKeys,
    packages,
    network,
    netplan: netplanOf(p),
    /** Debian's installer has no authorized-keys setting: its post-install script writes them. */
    keysInPostInstall: os.format === 'preseed',
    instanceId: `anneal-install-${install.id}`,
    installJson: JSON.stringify({ install: install.id, os: install.os, node: p.hostname }),
  };
}
