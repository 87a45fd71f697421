import { expect } from 'chai';
import { failureMessage, type FailureInput } from '../../../core/annealer/failure-message';

const refused: FailureInput['error'] = {
  kind: 'operational',
  message: 'ssh to n5.x.lab (10.231.0.15:22) refused the connection (ECONNREFUSED)',
  details: {
    node: 'n5.x.lab',
    reason: 'ssh to 10.231.0.15:22 refused the connection (ECONNREFUSED)',
    hint: 'check that sshd runs on the node',
  },
};

describe('annealer/failure-message', () => {
  it('names node, role, cause, attempts and the hint once the attempts are used up', () => {
    const line = failureMessage({
      node: 'n5.x.lab',
      role: 'test-remote',
      error: refused,
      attempts: 3,
      maxAttempts: 3,
      retryInMs: null,
    });
    expect(line).to.equal(
      'n5.x.lab: test-remote: ssh to 10.231.0.15:22 refused the connection (ECONNREFUSED) after 3 attempts' +
        ' — check that sshd runs on the node, then retry',
    );
    expect(line).not.to.include('\n');
  });

  it('says which attempt failed and when the next one runs while retrying', () => {
    const input = { node: 'n5.x.lab', role: 'test-remote', error: refused, attempts: 1, maxAttempts: 3 };
    expect(failureMessage({ ...input, retryInMs: 1_234 })).to.equal(
      'n5.x.lab: test-remote: ssh to 10.231.0.15:22 refused the connection (ECONNREFUSED) (attempt 1 of 3; next in 1.2 s)',
    );
    expect(failureMessage({ ...input, retryInMs: 42_600 })).to.match(/\(attempt 1 of 3; next in 43 s\)$/);
  });

  it('falls back to the message and a generic hint when the error has no reason or hint', () => {
    const line = failureMessage({
      node: 'n1',
      role: 'r',
      error: { kind: 'operational', message: 'script.sh exited 75 on n1' },
      attempts: 1,
      maxAttempts: 1,
      retryInMs: null,
    });
    expect(line).to.equal('n1: r: script.sh exited 75 on n1 after 1 attempt — fix the cause, then retry');
  });

  it('keeps the message of user and unexpected errors as their source wrote it', () => {
    for (const kind of ['user', 'unexpected'] as const) {
      const error = { kind, message: 'test-script.sh.hbs exited 1 on n1.lab', details: { reason: 'x', hint: 'y' } };
      expect(
        failureMessage({ node: 'n1.lab', role: 'r', error, attempts: 1, maxAttempts: 5, retryInMs: null }),
      ).to.equal(error.message);
    }
  });
});
