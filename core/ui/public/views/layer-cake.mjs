/**
 * The layer cake: a table of nodes (rows) × layers (columns, bottom layer first) from GET
 * /deployments/{ref}/status. Each cell is a block coloured by the aggregate state of the node's
 * node-roles in that layer, showing `active/total`, with data-state, data-node and data-layer attributes
 * and a title listing the node-roles. The footer row has each layer's totals.
 */
import { aggregate, badge, h, link, STATES } from '../dom.mjs';

function cell(node, layer, c) {
  if (!c) return h('td', { class: 'empty' });
  const roles = node.nodeRoles
    .filter((nr) => nr.layer === layer)
    .map((nr) => `${nr.role}: ${nr.state}${nr.attempts ? ` (attempt ${nr.attempts})` : ''}`);
  return h(
    'td',
    {},
    h(
      'div',
      {
        class: `cell state-${c.state}`,
        'data-state': c.state,
        'data-node': node.name,
        'data-layer': layer,
        title: `${node.name} · ${layer}\n${roles.join('\n')}`,
      },
      `${c.counts.active ?? 0}/${c.total}`,
    ),
  );
}

function verdict(status) {
  if (status.converged) return badge('active', 'converged');
  if (status.counts.error || status.counts['remove-error']) return badge('error', 'needs attention');
  if (status.counts.removing) return badge('removing', 'removing');
  return status.total ? badge('todo', 'converging') : '';
}

/** The overall totals line: every state with its count, and whether the deployment has converged. */
export function totals(status) {
  return h(
    'p',
    { class: 'totals', id: 'totals' },
    h('strong', {}, `${status.counts.active}/${status.total} active`),
    STATES.filter((st) => status.counts[st] > 0).map((st) => [' ', badge(st, `${status.counts[st]} ${st}`)]),
    ' ',
    verdict(status),
  );
}

export function layerCake(status) {
  if (status.nodes.length === 0) return h('p', { class: 'muted' }, 'No nodes in this deployment yet.');
  const head = h(
    'tr',
    {},
    h('th', {}, 'node'),
    status.layers.map((l) => h('th', { scope: 'col' }, l)),
  );
  const rows = status.nodes.map((n) =>
    h(
      'tr',
      { 'data-node': n.name },
      h(
        'th',
        { scope: 'row' },
        link(n.name, 'nodes', n.name),
        n.alive ? '' : h('span', { class: 'tag', title: 'not answering' }, 'down'),
        n.available ? '' : h('span', { class: 'tag', title: 'taken out of service' }, 'unavailable'),
      ),
      status.layers.map((l) => cell(n, l, n.layers[l])),
    ),
  );
  const foot = h(
    'tr',
    {},
    h('th', {}, 'all nodes'),
    status.layers.map((l) => {
      const t = status.layerTotals[l] ?? { total: 0, counts: {} };
      return h(
        'td',
        {},
        h('span', { class: `sum state-${aggregate(t.counts)}` }, `${t.counts.active ?? 0}/${t.total}`),
      );
    }),
  );
  return h(
    'table',
    { class: 'cake', id: 'layer-cake' },
    h('thead', {}, head),
    h('tbody', {}, rows),
    h('tfoot', {}, foot),
  );
}
