/**
 * anneal's own barclamp: the settings every layer shares and the milestone roles that mark each layer
 * of the ready state (docs/ready-state.md). Milestones are added as their layers' barclamps land.
 */
import { z } from 'zod';
import { attr } from '../../core/plugins/attr';
import { defineBarclamp } from '../../core/plugins/manifest';

const ipv4 = z
  .string()
  .regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/, 'expected an IPv4 address like 10.0.0.1');

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
  roles: {},
});
