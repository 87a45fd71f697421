/** #/: every deployment, each a link to its layer cake. */
import { describe, list } from '../api.mjs';
import { badge, h, link, para, row, table, when } from '../dom.mjs';

export async function deploymentsView(main, _params, signal) {
  main.append(h('h1', {}, 'Deployments'));
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
