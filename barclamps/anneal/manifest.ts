/**
 * anneal's own barclamp: the settings every layer shares and the milestone roles that mark each layer
 * of the ready state (docs/ready-state.md): managed-node → hardware-configured → installed-node →
 * ready-node. Binding ready-node binds every layer below it on the node (milestones and layer roles are
 * implicit); `precedes` orders each layer after the one below where requires alone would not.
 */
import { z } from 'zod';
import { attr } from '../../core/plugins/attr';
import { defineBarclamp } from '../../core/plugins/manifest';

const ipv4 = z
  .string()
  .regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/, 'expected an IPv4 address like 10.0.0.1');

/**
 * The ready-node layer (docs/ready-state.md). `ssh-access` is a cluster role (every node's host keys feed
 * every node's known_hosts): ready-node requires `ssh-known-hosts`, and `ssh-access` is bound on each node
 * by discovery (or by the operator); both run after the install that would wipe them.
 */
const READY_ROLES = ['ssh-known-hosts', 'ntp-client', 'dns-client', 'proxy-client', 'network-config', 'hardware-check'];

export default defineBarclamp({
  name: 'anneal',
  version: '1.0.0',
  description: 'Shared settings of the ready state and its milestone roles',
  dir: __dirname,
  attribs: {
    'anneal/admin-address': {
      description:
        'The address nodes reach the admin host at: service roles (dns, ntp, proxy) listen on it and client roles point at it (10.231.0.1 in the lab)',
      schema: ipv4,
    },
    'anneal/discover': attr.bool({
      description:
        'Bind the discovery roles to every node created in this deployment and commit it, so it walks up to ready-node on its own',
      default: false,
    }),
  },
  roles: {
    'managed-node': {
      description: 'Milestone: the node is inventoried and its BMC is verified',
      requires: ['inventory', 'bmc-configure'],
      flags: ['implicit', 'milestone'],
      noRemove: 'milestone: noop, it writes nothing on the node',
    },
    'hardware-configured': {
      description: 'Milestone: RAID and BIOS match the plan (runs before the OS install)',
      requires: ['managed-node', 'raid-configure', 'bios-configure'],
      precedes: ['os-install'],
      flags: ['implicit', 'milestone'],
      noRemove: 'milestone: noop, it writes nothing on the node',
    },
    'installed-node': {
      description: 'Milestone: the OS is installed through the network-boot path and the node booted from disk',
      requires: ['hardware-configured', 'os-install'],
      precedes: ['ssh-access', ...READY_ROLES],
      flags: ['implicit', 'milestone'],
      noRemove: 'milestone: noop, it writes nothing on the node',
    },
    'ready-node': {
      description: 'Milestone: keys, time, names, proxy and network are configured and their checks pass',
      requires: ['installed-node', ...READY_ROLES],
      flags: ['implicit', 'milestone', 'discovery'],
      noRemove: 'milestone: noop, it writes nothing on the node',
    },
  },
});
