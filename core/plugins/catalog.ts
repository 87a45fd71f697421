/** The plugins a server loads: the shipped lists plus named fixtures (tests and demos). */
import { barclamps } from '../../barclamps';
import { workloads } from '../../workloads';
import type { PluginManifest } from './manifest';

export async function pluginsFor(fixtures: string[]): Promise<PluginManifest[]> {
  const extra: PluginManifest[] = [];
  for (const name of fixtures) {
    if (name !== 'test') throw new Error(`ANNEAL_FIXTURES: unknown fixture "${name}" (known: test)`);
    extra.push((await import('../../test/fixtures/barclamps/test/manifest')).default);
  }
  return [...barclamps, ...workloads, ...extra];
}
