import { expect } from 'chai';
import { connectCause } from '../../../core/exec/ssh-cause';

function sysErr(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('exec/ssh-cause', () => {
  it('tells sshd not running (refused) from a node that is off or cut off (no route, timeout)', () => {
    expect(connectCause(sysErr('ECONNREFUSED', 'connect ECONNREFUSED 10.231.0.15:22'), 3000)).to.deep.equal({
      reason: 'refused the connection (ECONNREFUSED)',
      hint: 'check that sshd runs on the node',
    });
    const network = 'check that the node is powered on and its network link is up';
    expect(connectCause(sysErr('EHOSTUNREACH', 'connect EHOSTUNREACH 10.231.0.15:22'), 3000)).to.deep.equal({
      reason: 'found no route to the node (EHOSTUNREACH)',
      hint: network,
    });
    const handshake = Object.assign(new Error('Timed out while waiting for handshake'), { level: 'client-timeout' });
    expect(connectCause(handshake, 3000)).to.deep.equal({
      reason: 'got no answer within 3000 ms (connect timed out)',
      hint: network,
    });
    expect(connectCause(sysErr('ETIMEDOUT', 'connect ETIMEDOUT'), 3000).reason).to.include('ETIMEDOUT');
    expect(connectCause(new Error('Keepalive timeout'), 3000).reason).to.include('keepalive');
  });

  it('keeps the code and text of errors it does not know', () => {
    expect(connectCause(sysErr('EWEIRD', 'something odd'), 3000).reason).to.equal('failed: EWEIRD: something odd');
    expect(connectCause('plain string', 3000).reason).to.equal('failed: plain string');
  });
});
