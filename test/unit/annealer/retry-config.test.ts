import { expect } from 'chai';
import { loadConfig } from '../../../core/config';
import { defaultRetryPolicy } from '../../../core/annealer/outcome';

describe('config: annealer retry policy and ssh connect timeout', () => {
  it('defaults to the annealer defaults and a 10 s connect timeout', () => {
    const c = loadConfig({});
    expect(c.retry).to.deep.equal(defaultRetryPolicy);
    expect(c.sshConnectTimeoutMs).to.equal(10_000);
  });

  it('reads ANNEAL_RETRY_* and ANNEAL_SSH_CONNECT_TIMEOUT_MS', () => {
    const c = loadConfig({
      ANNEAL_RETRY_MAX_ATTEMPTS: '3',
      ANNEAL_RETRY_BASE_MS: '200',
      ANNEAL_RETRY_MAX_MS: '1000',
      ANNEAL_SSH_CONNECT_TIMEOUT_MS: '3000',
    });
    expect(c.retry).to.deep.equal({ maxAttempts: 3, baseMs: 200, maxMs: 1000 });
    expect(c.sshConnectTimeoutMs).to.equal(3000);
  });

  it('refuses values out of range, naming the variable', () => {
    const bad: Array<[string, string]> = [
      ['ANNEAL_RETRY_MAX_ATTEMPTS', '0'],
      ['ANNEAL_RETRY_MAX_ATTEMPTS', 'many'],
      ['ANNEAL_RETRY_BASE_MS', '0'],
      ['ANNEAL_SSH_CONNECT_TIMEOUT_MS', '10'],
    ];
    for (const [name, value] of bad) {
      expect(() => loadConfig({ [name]: value }), `${name}=${value}`).to.throw(new RegExp(name));
    }
    expect(() => loadConfig({ ANNEAL_RETRY_BASE_MS: '5000', ANNEAL_RETRY_MAX_MS: '1000' })).to.throw(
      /ANNEAL_RETRY_BASE_MS \(5000\) must not exceed ANNEAL_RETRY_MAX_MS \(1000\)/,
    );
  });
});
