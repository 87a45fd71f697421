/** #/: every deployment, each a link to its layer cake; Plan a blueprint (views/blueprint.mjs). */
import { describe, list } from '../api.mjs';
import { badge, h, link, para, row, table, when } from '../dom.mjs';

export async function deploymentsView(main, _params, signal) {
  main.append(
    h(
      'div',
      { class: 'title-row' },
      h('h1', {}, 'Deployments'),
      h('span', { class: 'spacer' }),
      h('a', { class: 'button', id: 'plan-blueprint', href: '#/blueprints/plan' }, 'Plan a blueprint'),
    ),
  );
  try {
    const items = await list('/deployments', { signal });
    const rows = items.map((d) =>
      row(
        { 'data-deployment': d.name },
        link(d.name, 'deployments', d.name),
        badge(d.state),
        d.system ? 'system' : '',
        d.description,
        when(d.updatedAt),
      ),
    );
    main.append(
      items.length ? table(['name', 'state', '', 'description', 'updated'], rows) : para('No deployments yet.'),
    );
  } catch (err) {
    if (!signal.aborted) main.append(para(describe(err), 'error'));
  }
}
