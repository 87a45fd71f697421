import { expect } from 'chai';
import { backoffMs, decideOutcome, defaultRetryPolicy, type RetryPolicy } from '../../../core/annealer/outcome';

const policy: RetryPolicy = { baseMs: 1_000, maxMs: 60_000, maxAttempts: 5 };
const NOW = 1_700_000_000_000;

describe('annealer/outcome', () => {
  describe('backoffMs', () => {
    it('doubles the ceiling with each attempt: base·2^(attempt−1)', () => {
      const ceilings = [1, 2, 3, 4, 5, 6].map((a) => backoffMs(a, policy, 1));
      expect(ceilings).to.deep.equal([1_000, 2_000, 4_000, 8_000, 16_000, 32_000]);
    });

    it('jitters within [d/2, d]: random 0 gives d/2, random 1 gives d, values between in between', () => {
      for (let attempt = 1; attempt <= 8; attempt++) {
        const d = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
        expect(backoffMs(attempt, policy, 0), `attempt ${attempt}, random 0`).to.equal(d / 2);
        expect(backoffMs(attempt, policy, 1), `attempt ${attempt}, random 1`).to.equal(d);
        for (const r of [0.1, 0.25, 0.5, 0.9, 0.999]) {
          const v = backoffMs(attempt, policy, r);
          expect(v, `attempt ${attempt}, random ${r}`).to.be.within(d / 2, d);
        }
      }
    });

    it('is monotonic in the random draw', () => {
      const draws = [0, 0.2, 0.4, 0.6, 0.8, 1].map((r) => backoffMs(3, policy, r));
      expect(draws).to.deep.equal([...draws].sort((a, b) => a - b));
    });

    it('caps the ceiling at maxMs however many attempts', () => {
      for (const attempt of [7, 8, 10, 20, 60, 1_000]) {
        expect(backoffMs(attempt, policy, 1), `attempt ${attempt}`).to.equal(policy.maxMs);
        expect(backoffMs(attempt, policy, 0), `attempt ${attempt}`).to.equal(policy.maxMs / 2);
      }
      const tight: RetryPolicy = { baseMs: 100, maxMs: 250, maxAttempts: 10 };
      expect([1, 2, 3, 4].map((a) => backoffMs(a, tight, 1))).to.deep.equal([100, 200, 250, 250]);
    });

    it('clamps an out-of-range random draw into [0, 1]', () => {
      expect(backoffMs(2, policy, -5)).to.equal(1_000);
      expect(backoffMs(2, policy, 7)).to.equal(2_000);
    });

    it('treats attempt 0 (or less) like the first attempt', () => {
      expect(backoffMs(0, policy, 1)).to.equal(policy.baseMs);
      expect(backoffMs(-3, policy, 1)).to.equal(policy.baseMs);
    });
  });

  describe('decideOutcome', () => {
    it('done → active with attempts reset, whatever the attempts so far', () => {
      for (const attempts of [0, 1, 4, 99]) {
        expect(decideOutcome({ kind: 'done' }, attempts, NOW, policy, 0.5)).to.deep.equal({
          state: 'active',
          attempts: 0,
        });
      }
    });

    it('not yet → todo at now + delay, attempts unchanged, no jitter', () => {
      for (const attempts of [0, 3, policy.maxAttempts + 10]) {
        for (const random of [0, 1]) {
          expect(
            decideOutcome({ kind: 'not-yet', requeueAfterMs: 2_500, reason: 'waiting' }, attempts, NOW, policy, random),
          ).to.deep.equal({
            state: 'todo',
            nextRunAt: NOW + 2_500,
            attempts,
            why: 'not-yet',
          });
        }
      }
    });

    it('not yet with a negative delay runs again now, never in the past', () => {
      const d = decideOutcome({ kind: 'not-yet', requeueAfterMs: -100, reason: 'x' }, 0, NOW, policy, 0);
      expect(d).to.deep.equal({ state: 'todo', nextRunAt: NOW, attempts: 0, why: 'not-yet' });
    });

    it('operational failure → todo with attempts + 1 and a backoff within [d/2, d] for random 0 and 1', () => {
      for (let attempts = 0; attempts < policy.maxAttempts - 1; attempts++) {
        const next = attempts + 1;
        const d = Math.min(policy.maxMs, policy.baseMs * 2 ** (next - 1));
        const low = decideOutcome({ kind: 'failed', errorKind: 'operational' }, attempts, NOW, policy, 0);
        const high = decideOutcome({ kind: 'failed', errorKind: 'operational' }, attempts, NOW, policy, 1);
        expect(low).to.deep.equal({ state: 'todo', nextRunAt: NOW + d / 2, attempts: next, why: 'retry' });
        expect(high).to.deep.equal({ state: 'todo', nextRunAt: NOW + d, attempts: next, why: 'retry' });
      }
    });

    it('operational failures back off doubling, capped at maxMs', () => {
      const p: RetryPolicy = { baseMs: 1_000, maxMs: 5_000, maxAttempts: 100 };
      const delays: number[] = [];
      for (let attempts = 0; attempts < 6; attempts++) {
        const d = decideOutcome({ kind: 'failed', errorKind: 'operational' }, attempts, NOW, p, 1);
        if (d.state !== 'todo') throw new Error(`expected todo, got ${d.state}`);
        delays.push(d.nextRunAt - NOW);
      }
      expect(delays).to.deep.equal([1_000, 2_000, 4_000, 5_000, 5_000, 5_000]);
    });

    it('an operational failure reaching maxAttempts → error, with the attempts counted', () => {
      const last = policy.maxAttempts - 1;
      for (const random of [0, 1]) {
        expect(decideOutcome({ kind: 'failed', errorKind: 'operational' }, last, NOW, policy, random)).to.deep.equal({
          state: 'error',
          attempts: policy.maxAttempts,
        });
        expect(
          decideOutcome({ kind: 'failed', errorKind: 'operational' }, last + 3, NOW, policy, random),
        ).to.deep.equal({
          state: 'error',
          attempts: policy.maxAttempts + 3,
        });
      }
      // One short of the limit still retries.
      expect(decideOutcome({ kind: 'failed', errorKind: 'operational' }, last - 1, NOW, policy, 0).state).to.equal(
        'todo',
      );
    });

    it('maxAttempts 1 makes the first operational failure terminal', () => {
      const once: RetryPolicy = { ...policy, maxAttempts: 1 };
      expect(decideOutcome({ kind: 'failed', errorKind: 'operational' }, 0, NOW, once, 0)).to.deep.equal({
        state: 'error',
        attempts: 1,
      });
    });

    it('user and unexpected errors → error at once, on the first attempt', () => {
      for (const errorKind of ['user', 'unexpected'] as const) {
        for (const random of [0, 1]) {
          expect(decideOutcome({ kind: 'failed', errorKind }, 0, NOW, policy, random), errorKind).to.deep.equal({
            state: 'error',
            attempts: 1,
          });
          expect(decideOutcome({ kind: 'failed', errorKind }, 2, NOW, policy, random), errorKind).to.deep.equal({
            state: 'error',
            attempts: 3,
          });
        }
      }
    });

    it('walks the default policy from first failure to error in maxAttempts runs', () => {
      const states: string[] = [];
      let attempts = 0;
      for (;;) {
        const d = decideOutcome({ kind: 'failed', errorKind: 'operational' }, attempts, NOW, defaultRetryPolicy, 0.5);
        states.push(d.state);
        attempts = d.attempts;
        if (d.state === 'error') break;
      }
      expect(states).to.have.length(defaultRetryPolicy.maxAttempts);
      expect(states.slice(0, -1).every((s) => s === 'todo')).to.equal(true);
      expect(attempts).to.equal(defaultRetryPolicy.maxAttempts);
    });
  });
});
