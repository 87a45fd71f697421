import { expect } from 'chai';
import { AppError } from '../../../core/errors';
import {
  bridgeName,
  checkLabName,
  hostVethName,
  labShort,
  MAX_NODES,
  netnsName,
  nodeIp,
  nodeMacs,
  nodeName,
} from '../../../core/lab/layout';

describe('lab layout (names, addresses; no root needed)', () => {
  const names = ['anneal', 't1a2b', 'a', 'my-lab-with-a-long-name', 'bridge', 'br1', 'x9'];

  it('keeps every interface name within 15 characters', () => {
    for (const lab of names) {
      expect(bridgeName(lab).length, bridgeName(lab)).to.be.at.most(15);
      expect(hostVethName(lab, MAX_NODES).length, hostVethName(lab, MAX_NODES)).to.be.at.most(15);
    }
  });

  it('never gives a veth the name of a bridge', () => {
    for (const lab of names) expect(labShort(lab).startsWith('br'), lab).to.equal(false);
    expect(labShort('anneal')).to.equal('anneal');
    expect(labShort('my-lab-with-a-long-name')).to.match(/^h[0-9a-f]{5}$/);
  });

  it('derives stable, distinct, locally administered MACs', () => {
    const seen = new Set<string>();
    for (let i = 1; i <= MAX_NODES; i++) {
      const m = nodeMacs('anneal', i);
      for (const mac of [m.eth0, m.eth1, m.hostVeth]) {
        expect(mac).to.match(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
        expect(Number.parseInt(mac.slice(0, 2), 16) & 0b11).to.equal(0b10); // unicast, locally administered
        expect(seen.has(mac), mac).to.equal(false);
        seen.add(mac);
      }
    }
    expect(nodeMacs('anneal', 7)).to.deep.equal(nodeMacs('anneal', 7));
  });

  it('names and addresses node i of lab L', () => {
    expect(nodeName('anneal', 2)).to.equal('n2.anneal.lab');
    expect(netnsName('anneal', 2)).to.equal('anl-anneal-2');
    expect(nodeIp(1)).to.equal('10.231.0.11');
    expect(nodeIp(MAX_NODES)).to.equal('10.231.0.210');
  });

  it('accepts only lowercase DNS-label lab names', () => {
    for (const ok of ['anneal', 'a', 't1a2b', 'my-lab']) expect(() => checkLabName(ok)).to.not.throw();
    for (const bad of ['', 'Lab', '1lab', 'lab-', 'a--b', 'a.b', 'a_b', 'x'.repeat(25)]) {
      expect(() => checkLabName(bad), bad)
        .to.throw(AppError)
        .with.property('code', 'ERR_INPUT_INVALID');
    }
  });
});
