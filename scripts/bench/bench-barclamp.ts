/** The benchmark's plugin: six noop roles, each requiring the one below on the same node. */
import { defineBarclamp, type RoleSpec } from '../../core/plugins/manifest';

export const benchLayers = ['layer-1', 'layer-2', 'layer-3', 'layer-4', 'layer-5', 'layer-6'];

export default defineBarclamp({
  name: 'bench',
  version: '1.0.0',
  description: 'Benchmark roles: a six-layer chain with the noop jig',
  dir: __dirname,
  roles: Object.fromEntries(
    benchLayers.map((name, i): [string, RoleSpec] => [
      name,
      {
        description: `bench layer ${i + 1}`,
        jig: 'noop',
        flags: ['implicit'],
        noRemove: 'benchmark: noop, writes nothing',
        ...(i ? { requires: [benchLayers[i - 1]!] } : {}),
      },
    ]),
  ),
});
