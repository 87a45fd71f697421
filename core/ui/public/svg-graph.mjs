/**
 * The role graph of a deployment as SVG, hand-laid: one box per role bound in the deployment, coloured
 * by that role's aggregate state across its nodes; columns by longest-path rank (a role sits right of
 * everything it requires), rows ordered by the mean row of their parents. Edges: `requires` solid,
 * `precedes` (soft ordering) dashed, each drawn from the role that must come first.
 */
import { aggregate, h, s } from './dom.mjs';

const COL_W = 210;
const ROW_H = 46;
const BOX_W = 170;
const BOX_H = 30;
const PAD = 14;
const MAX_LABEL = 24;

/** Edges [from, to, kind] among the bound roles: from must run before to. */
function edgesOf(roles) {
  const edges = [];
  for (const r of roles.values()) {
    for (const req of r.requires) if (roles.has(req)) edges.push([req, r.name, 'requires']);
    for (const next of r.precedes ?? []) if (roles.has(next)) edges.push([r.name, next, 'precedes']);
  }
  return edges;
}

/** Longest-path rank per role; a cycle (never expected) is cut where it is found. */
function ranks(names, edges) {
  const parents = new Map(names.map((n) => [n, []]));
  for (const [from, to] of edges) parents.get(to).push(from);
  const rank = new Map();
  const visiting = new Set();
  const visit = (n) => {
    if (rank.has(n)) return rank.get(n);
    if (visiting.has(n)) return -1;
    visiting.add(n);
    const r = Math.max(-1, ...parents.get(n).map(visit)) + 1;
    visiting.delete(n);
    rank.set(n, r);
    return r;
  };
  names.forEach(visit);
  return { rank, parents };
}

/** Positions {col, row} per role: columns by rank, each column sorted by its parents' mean row, then name. */
function layout(names, edges) {
  const { rank, parents } = ranks(names, edges);
  const columns = [];
  for (const n of names) (columns[rank.get(n)] ??= []).push(n);
  const row = new Map();
  for (const col of columns) {
    if (!col) continue;
    const weight = (n) => {
      const rows = parents
        .get(n)
        .filter((p) => row.has(p))
        .map((p) => row.get(p));
      return rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : -1;
    };
    col.sort((a, b) => weight(a) - weight(b) || a.localeCompare(b));
    col.forEach((n, i) => row.set(n, i));
  }
  const tallest = Math.max(...columns.map((c) => c?.length ?? 0));
  const pos = new Map();
  for (const n of names) {
    const col = columns[rank.get(n)];
    const offset = ((tallest - col.length) * ROW_H) / 2;
    pos.set(n, { x: PAD + rank.get(n) * COL_W, y: PAD + offset + row.get(n) * ROW_H });
  }
  return {
    pos,
    width: PAD * 2 + (columns.length - 1) * COL_W + BOX_W,
    height: PAD * 2 + (tallest - 1) * ROW_H + BOX_H,
  };
}

/** Per role: counts of its node-roles by state, over every node in the status. */
function roleCounts(status) {
  const counts = new Map();
  for (const node of status.nodes) {
    for (const nr of node.nodeRoles) {
      const c = counts.get(nr.role) ?? {};
      c[nr.state] = (c[nr.state] ?? 0) + 1;
      counts.set(nr.role, c);
    }
  }
  return counts;
}

/** The SVG (or a note when nothing is bound). `roles`: GET /roles items; `status`: GET /deployments/{ref}/status. */
export function roleGraph(roles, status) {
  const counts = roleCounts(status);
  const bound = new Map(roles.filter((r) => counts.has(r.name)).map((r) => [r.name, r]));
  if (bound.size === 0) return h('p', { class: 'muted' }, 'No roles bound yet.');
  const names = [...bound.keys()];
  const edges = edgesOf(bound);
  const { pos, width, height } = layout(names, edges);
  const paths = edges.map(([from, to, kind]) => {
    const a = pos.get(from);
    const b = pos.get(to);
    const [x1, y1, x2, y2] = [a.x + BOX_W, a.y + BOX_H / 2, b.x, b.y + BOX_H / 2];
    const dx = Math.max(30, (x2 - x1) / 2);
    const d = `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`;
    return s('path', { class: `edge ${kind}`, d, 'data-from': from, 'data-to': to, 'marker-end': 'url(#arrow)' });
  });
  const boxes = names.map((n) => {
    const c = counts.get(n);
    const state = aggregate(c);
    const { x, y } = pos.get(n);
    const summary = Object.entries(c)
      .map(([st, k]) => `${k} ${st}`)
      .join(', ');
    const label = n.length > MAX_LABEL ? `${n.slice(0, MAX_LABEL - 1)}…` : n;
    return s(
      'g',
      { class: `role state-${state}`, 'data-role': n, 'data-state': state },
      s('title', {}, `${n}: ${summary}${bound.get(n).description ? ` — ${bound.get(n).description}` : ''}`),
      s('rect', { x, y, width: BOX_W, height: BOX_H, rx: 6 }),
      s('text', { x: x + BOX_W / 2, y: y + BOX_H / 2 + 4, 'text-anchor': 'middle' }, label),
    );
  });
  const arrow = s(
    'marker',
    { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' },
    s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }),
  );
  return s(
    'svg',
    { class: 'role-graph', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'role graph' },
    s('defs', {}, arrow),
    s('g', { class: 'edges' }, paths),
    s('g', { class: 'roles' }, boxes),
  );
}
