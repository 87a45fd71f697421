/** #/: every deployment, each a link to its layer cake. */
import { describe, list } from '../api.mjs';
import { badge, h, link, when } from '../dom.mjs';

export async function deploymentsView(main, _params, signal) {
  main.append(h('h1', {}, 'Deployments'));
  let items;
  try {
    items = await list('/deployments', { signal });
  } catch (err) {
    if (!signal.aborted) main.append(h('p', { class: 'error' }, describe(err)));
    return;
  }
  const rows = items.map((d) =>
    h(
      'tr',
      { 'data-deployment': d.name },
      h('td', {}, link(d.name, 'deployments', d.name)),
      h('td', {}, badge(d.state)),
      h('td', {}, d.system ? 'system' : ''),
      h('td', {}, d.description),
      h('td', {}, when(d.updatedAt)),
    ),
  );
  main.append(
    items.length
      ? h(
          'table',
          { class: 'grid' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['name', 'state', '', 'description', 'updated'].map((t) => h('th', {}, t)),
            ),
          ),
          h('tbody', {}, rows),
        )
      : h('p', {}, 'No deployments yet.'),
  );
}
