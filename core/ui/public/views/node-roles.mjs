/**
 * The node page's node-roles table rows: role, deployment, state, attempts, runs, last error, and the
 * buttons — runs (the node-role's runs, newest first: status, exit code, the command, output tails),
 * Retry (a node-role in error or remove-error) and Unbind.
 */
import { describe, list } from '../api.mjs';
import { badge, button, h, link, para, replace, row, when } from '../dom.mjs';

const RUN_STATE = { succeeded: 'active', running: 'transition' };

function runView(r) {
  const took = r.endedAt ? `${((r.endedAt - r.startedAt) / 1000).toFixed(1)} s` : 'running';
  const tail = (label, text) => (text ? [h('div', { class: 'label' }, label), h('pre', { class: label }, text)] : '');
  return h(
    'div',
    { class: 'run', 'data-run': r.id, 'data-status': r.status },
    h('div', {}, h('strong', {}, `attempt ${r.attempt} `), badge(RUN_STATE[r.status] ?? 'error', r.status)),
    h('div', { class: 'muted' }, `exit ${r.exitCode ?? '—'} · ${when(r.startedAt)} · ${took}`),
    r.command ? h('div', { class: 'command' }, h('code', {}, r.command)) : '',
    r.error ? h('div', { class: 'message' }, `${r.error.code}: ${r.error.message}`) : '',
    tail('stdout', r.stdoutTail),
    tail('stderr', r.stderrTail),
  );
}

/**
 * The node-role's row and a hidden row below it that its "runs" button fills and shows. `open` is the set
 * of node-role ids whose runs are shown: kept across the live re-renders (an open one is refetched).
 */
export function nodeRoleRows(nr, { retry, unbind }, open) {
  const box = h('td', { colspan: 7 });
  const runs = h('tr', { class: 'runs-row', hidden: true }, box);
  const toggle = async () => {
    runs.hidden = !runs.hidden;
    if (runs.hidden) return void open.delete(nr.id);
    open.add(nr.id);
    replace(box, 'loading…');
    try {
      const items = (await list(`/node-roles/${nr.id}/runs`)).reverse();
      replace(box, items.length ? items.map(runView) : para('No runs yet.'));
    } catch (err) {
      replace(box, para(describe(err), 'error'));
    }
  };
  const main = row(
    { 'data-role': nr.role, 'data-state': nr.state, 'data-node-role': nr.id, 'data-deployment': nr.deployment },
    nr.role,
    link(nr.deployment, 'deployments', nr.deployment),
    badge(nr.state),
    String(nr.attempts),
    String(nr.runCount),
    nr.lastError ? h('div', { class: 'message' }, `${nr.lastError.code}: ${nr.lastError.message}`) : '',
    [
      button('runs', toggle, { class: 'runs secondary' }),
      nr.state === 'error' || nr.state === 'remove-error' ? button('Retry', () => retry(nr), { class: 'retry' }) : '',
      button('Unbind', () => unbind(nr), { class: 'unbind secondary' }),
    ],
  );
  if (open.has(nr.id)) toggle();
  return [main, runs];
}
