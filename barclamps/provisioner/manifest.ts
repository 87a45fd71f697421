/**
 * The provisioner (DESIGN §2 item 3): serves per-MAC iPXE scripts and rendered install configs
 * (Debian preseed, Rocky kickstart, Ubuntu autoinstall via cloud-init NoCloud) over HTTP at
 * `/provision` — see core/provisioner and docs/provisioner.md. The `provisioner-service` role lists the
 * artifact templates so they compile at boot; `os-install` drives an install through the node's BMC
 * (os-install.ts).
 */
import { z } from 'zod';
import { installOses } from '../../core/domain/installs';
import { attr } from '../../core/plugins/attr';
import { defineBarclamp } from '../../core/plugins/manifest';
import { osInstall, osInstallCheck } from './os-install';
import { authorizedKey, network, packageName } from './schemas';

export const provisionerTemplates = [
  'boot.ipxe.hbs',
  'local-boot.ipxe.hbs',
  'preseed.cfg.hbs',
  'kickstart.cfg.hbs',
  'user-data.hbs',
  'meta-data.hbs',
  'vendor-data.hbs',
  'post-install.sh.hbs',
];

export default defineBarclamp({
  name: 'provisioner',
  version: '1.0.0',
  description: 'Network-boot installs: iPXE scripts, preseed, kickstart and cloud-init served over HTTP',
  dir: __dirname,
  attribs: {
    'provisioner/os': attr.enum(installOses, { description: 'Operating system to install', default: 'debian-12' }),
    'provisioner/authorized-keys': attr.list(authorizedKey, {
      description: "SSH public keys authorized for root on the installed system (include anneal's own key)",
      default: [],
    }),
    'provisioner/packages': attr.list(packageName, {
      description: 'Packages to install besides the base system (openssh-server and curl are always added)',
      default: [],
    }),
    'provisioner/install-timeout-s': attr.int({
      description: 'How long os-install waits for install-complete and the first SSH answer before it fails',
      min: 60,
      max: 86_400,
      default: 1800,
    }),
    'provisioner/network': {
      description:
        'Network configuration of the boot NIC on the installed system: {"mode":"dhcp"}, or {"mode":"static", "prefix", "gateway", "nameservers"} around the node\'s address',
      schema: network as z.ZodType<z.output<typeof network>>,
      default: { mode: 'dhcp' },
    },
  },
  roles: {
    'os-install': {
      description:
        'Installs the node through the network-boot path: install request, next boot pxe, power cycle, install-complete, boot from disk (several runs; see os-install.ts)',
      requires: ['provisioner-service'],
      flags: ['implicit'],
      jig: 'ssh',
      // Not the install's own attribs: changing the OS or the package list must not reinstall machines by
      // itself; an operator redeploys a node (POST /api/v2/nodes/{ref}/redeploy) to install it again.
      wants: ['provisioner/install-timeout-s'],
      timeoutMs: 60_000,
      noRemove:
        'unbinding does not wipe the installed OS or power the node off: the node keeps running the system it installed (redeploy installs again)',
      actions: { apply: osInstall, check: osInstallCheck },
    },
    'provisioner-service': {
      description: 'Serves network-boot artifacts over HTTP (built into the anneal server)',
      flags: ['service'],
      jig: 'noop',
      noRemove:
        'built into the anneal server (its /provision routes): it starts no daemon and writes nothing on any node',
      // Wants nothing: os-install on every node requires this role, and a change here would re-run (so
      // re-install) them all. Installs read the provisioner attribs when they are requested.
      templates: provisionerTemplates,
    },
  },
});
