/**
 * The per-BMC rate limit the power service puts in front of every BMC call: calls to one BMC never
 * overlap and start at least `minTimeMs` apart; calls to different BMCs do not wait for each other.
 */
import { expect } from 'chai';
import { createKeyedLimits } from '../../../core/annealer/limits';

describe('per-BMC limits', () => {
  it('serialises and spaces calls to one BMC, and runs different BMCs in parallel', async () => {
    const limits = createKeyedLimits({ maxConcurrent: 1, minTimeMs: 100 });
    const t0 = Date.now();
    const spans: { key: string; start: number; end: number }[] = [];
    const job = (key: string) => () =>
      new Promise<void>((resolve) => {
        const start = Date.now() - t0;
        setTimeout(() => {
          spans.push({ key, start, end: Date.now() - t0 });
          resolve();
        }, 30);
      });
    await Promise.all([
      limits.schedule('ipmi:10.0.0.1', job('a')),
      limits.schedule('ipmi:10.0.0.1', job('a')),
      limits.schedule('ipmi:10.0.0.1', job('a')),
      limits.schedule('ipmi:10.0.0.2', job('b')),
    ]);
    await limits.stop();
    const a = spans.filter((s) => s.key === 'a').sort((x, y) => x.start - y.start);
    for (let i = 1; i < a.length; i++) {
      expect(a[i]!.start, 'no overlap').to.be.at.least(a[i - 1]!.end);
      expect(a[i]!.start - a[i - 1]!.start, 'spaced by minTimeMs').to.be.at.least(95);
    }
    const b = spans.find((s) => s.key === 'b')!;
    expect(b.start, 'another BMC does not wait').to.be.below(a[1]!.start);
  });
});
