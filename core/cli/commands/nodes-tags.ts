/**
 * `anneal nodes tag NODE TAG…` and `anneal nodes untag NODE TAG…`: add or remove tags (what blueprint
 * selectors and `nodes list --tag` match) — read the node's tags, then PUT /nodes/{ref}/tags with the
 * result. Prints the node's tags afterwards; `--json` prints the node.
 */
import type { Command } from 'commander';
import { seg, type ApiClient } from '../client';
import { print } from '../output';

interface TaggedNode {
  name: string;
  tags: string[];
}

export function registerNodesTags(nodes: Command, client: () => ApiClient): void {
  for (const [verb, add] of [
    ['tag', true],
    ['untag', false],
  ] as const) {
    nodes
      .command(`${verb} <node> <tags...>`)
      .description(add ? 'add tags to a node (blueprint selectors match them)' : 'remove tags from a node')
      .option('--json', 'print the node as JSON')
      .action(async (node: string, tags: string[], o: { json?: boolean }) => {
        const api = client();
        const current = await api.get<TaggedNode>(`/nodes/${seg(node)}`);
        const next = add ? [...current.tags, ...tags] : current.tags.filter((t) => !tags.includes(t));
        const res = await api.put<TaggedNode>(`/nodes/${seg(node)}/tags`, { tags: [...new Set(next)] });
        print(o.json, res, () => process.stdout.write(`${res.name}: tags ${res.tags.join(', ') || '(none)'}\n`));
      });
  }
}
