/** What an action sees of its node: the node record without anneal's bookkeeping (state, lease, power). */
import type { NodeRecord } from '../domain/records';
import type { NodeView } from '../plugins/manifest';

export function nodeView(n: NodeRecord): NodeView {
  return {
    id: n.id,
    name: n.name,
    macs: n.macs,
    bmcAddress: n.bmcAddress,
    address: n.address,
    admin: n.admin,
    system: n.system,
    facts: n.facts,
  };
}
