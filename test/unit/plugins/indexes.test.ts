import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { barclamps } from '../../../barclamps';
import type { PluginManifest } from '../../../core/plugins/manifest';
import { workloads } from '../../../workloads';
import testBarclamp from '../../fixtures/barclamps/test/manifest';

const repo = resolve(__dirname, '../../..');

/** Directories directly under `root` that no manifest in `index` lives in, and manifests living elsewhere. */
function indexMismatches(root: string, index: readonly PluginManifest[]): { unlisted: string[]; outside: string[] } {
  const dirs = readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => join(root, e.name));
  const listed = new Set(index.map((m) => resolve(m.dir)));
  return {
    unlisted: dirs.filter((d) => !listed.has(d)),
    outside: index.filter((m) => dirname(resolve(m.dir)) !== root).map((m) => m.name),
  };
}

describe('plugins/indexes', () => {
  it('lists every directory under barclamps/ in barclamps/index.ts', () => {
    expect(indexMismatches(join(repo, 'barclamps'), barclamps)).to.deep.equal({ unlisted: [], outside: [] });
    expect(barclamps.every((m) => m.kind === 'barclamp')).to.equal(true);
  });

  it('lists every directory under workloads/ in workloads/index.ts', () => {
    expect(indexMismatches(join(repo, 'workloads'), workloads)).to.deep.equal({ unlisted: [], outside: [] });
    expect(workloads.every((m) => m.kind === 'workload')).to.equal(true);
  });

  it('(control) reports an unlisted directory and a manifest from elsewhere', () => {
    const root = mkdtempSync(join(tmpdir(), 'anneal-index-'));
    try {
      mkdirSync(join(root, 'ntp'));
      expect(indexMismatches(root, [testBarclamp])).to.deep.equal({ unlisted: [join(root, 'ntp')], outside: ['test'] });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
