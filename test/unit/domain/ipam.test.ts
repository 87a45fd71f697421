import { expect } from 'chai';
import {
  addressProblem,
  compareIpv4,
  formatIpv4,
  netmask,
  nextFree,
  parseCidr,
  parseIpv4,
  rangeOf,
  rangeProblems,
} from '../../../core/domain/ipam';

const net = parseCidr('192.168.50.0/24')!;
const range = { name: 'nodes', first: '192.168.50.10', last: '192.168.50.12' };
const taken = (...a: string[]) => new Set(a.map((x) => parseIpv4(x)!));

describe('domain/ipam', () => {
  it('parses and formats IPv4 addresses, refusing leading zeros and out-of-range octets', () => {
    expect(parseIpv4('10.231.0.11')).to.equal(0x0ae7000b);
    expect(formatIpv4(0x0ae7000b)).to.equal('10.231.0.11');
    expect(parseIpv4('255.255.255.255')).to.equal(0xffffffff);
    expect(formatIpv4(0xffffffff)).to.equal('255.255.255.255');
    for (const bad of ['010.0.0.1', '256.0.0.1', '1.2.3', '1.2.3.4.5', ' 1.2.3.4', '1.2.3.4/24', '', 'a.b.c.d']) {
      expect(parseIpv4(bad), bad).to.equal(null);
    }
    expect(['10.0.0.10', '10.0.0.9', '9.0.0.1'].sort(compareIpv4)).to.deep.equal(['9.0.0.1', '10.0.0.9', '10.0.0.10']);
  });

  it('parses CIDRs with host bits zero; host addresses leave out network and broadcast (not for /31, /32)', () => {
    expect(net).to.deep.equal({
      base: parseIpv4('192.168.50.0'),
      prefix: 24,
      size: 256,
      firstHost: parseIpv4('192.168.50.1'),
      lastHost: parseIpv4('192.168.50.254'),
    });
    expect(parseCidr('192.168.50.1/24')).to.equal(null);
    expect(parseCidr('192.168.50.0/33')).to.equal(null);
    expect(parseCidr('192.168.50.0')).to.equal(null);
    const p2p = parseCidr('10.0.0.0/31')!;
    expect([formatIpv4(p2p.firstHost), formatIpv4(p2p.lastHost)]).to.deep.equal(['10.0.0.0', '10.0.0.1']);
    expect(netmask(24)).to.equal('255.255.255.0');
    expect(netmask(0)).to.equal('0.0.0.0');
    expect(netmask(32)).to.equal('255.255.255.255');
  });

  it('nextFree picks the lowest free address, skipping taken ones and the gateway; null when exhausted', () => {
    expect(nextFree(range, null, taken())).to.equal('192.168.50.10');
    expect(nextFree(range, null, taken('192.168.50.10'))).to.equal('192.168.50.11');
    expect(nextFree(range, '192.168.50.11', taken('192.168.50.10'))).to.equal('192.168.50.12');
    expect(nextFree(range, null, taken('192.168.50.10', '192.168.50.11', '192.168.50.12'))).to.equal(null);
    // A released address in the middle is handed out again first.
    expect(nextFree(range, null, taken('192.168.50.10', '192.168.50.12'))).to.equal('192.168.50.11');
  });

  it('addressProblem says whether an address is invalid, outside the network or range, the gateway, or taken', () => {
    const ok = { gateway: '192.168.50.1', taken: taken('192.168.50.10') };
    expect(addressProblem(net, { ...ok, address: '192.168.50.11' })).to.equal(null);
    expect(addressProblem(net, { ...ok, address: '192.168.50.11', range })).to.equal(null);
    expect(addressProblem(net, { ...ok, address: 'x' })).to.deep.equal({
      kind: 'invalid',
      message: 'expected an IPv4 address like 192.168.50.10',
    });
    expect(addressProblem(net, { ...ok, address: '192.168.51.1' })).to.deep.equal({
      kind: 'outside',
      message: '192.168.51.1 is not a host address of 192.168.50.0/24 (192.168.50.1..192.168.50.254)',
    });
    expect(addressProblem(net, { ...ok, address: '192.168.50.255' })?.kind).to.equal('outside');
    expect(addressProblem(net, { ...ok, address: '192.168.50.0' })?.kind).to.equal('outside');
    expect(addressProblem(net, { ...ok, address: '192.168.50.1' })).to.deep.equal({
      kind: 'outside',
      message: '192.168.50.1 is the gateway of 192.168.50.0/24',
    });
    expect(addressProblem(net, { ...ok, address: '192.168.50.20', range })).to.deep.equal({
      kind: 'outside',
      message: '192.168.50.20 is outside range "nodes" (192.168.50.10..192.168.50.12)',
    });
    expect(addressProblem(net, { ...ok, address: '192.168.50.10' })).to.deep.equal({
      kind: 'taken',
      message: '192.168.50.10 is already allocated',
    });
  });

  it('rangeProblems names the field: bad or outside ends, first after last, the gateway inside, overlaps', () => {
    const gw = '192.168.50.1';
    expect(rangeProblems(net, gw, range, [])).to.deep.equal([]);
    expect(rangeProblems(net, gw, { name: 'r', first: 'x', last: '192.168.51.9' }, [])).to.deep.equal([
      { field: 'first', message: 'expected an IPv4 address like 192.168.50.10' },
      {
        field: 'last',
        message: '192.168.51.9 is not a host address of 192.168.50.0/24 (expected one in 192.168.50.1..192.168.50.254)',
      },
    ]);
    expect(rangeProblems(net, gw, { name: 'r', first: '192.168.50.20', last: '192.168.50.19' }, [])).to.deep.equal([
      { field: 'last', message: 'expected an address at or after first (192.168.50.20)' },
    ]);
    expect(rangeProblems(net, gw, { name: 'r', first: '192.168.50.1', last: '192.168.50.9' }, [])).to.deep.equal([
      { field: 'first', message: "the range holds the network's gateway 192.168.50.1; leave it out" },
    ]);
    expect(rangeProblems(net, gw, { name: 'r', first: '192.168.50.12', last: '192.168.50.30' }, [range])).to.deep.equal(
      [
        {
          field: 'first',
          message: '192.168.50.12..192.168.50.30 overlaps range "nodes" (192.168.50.10..192.168.50.12)',
        },
      ],
    );
    expect(rangeProblems(net, gw, { name: 'r', first: '192.168.50.13', last: '192.168.50.30' }, [range])).to.deep.equal(
      [],
    );
  });

  it('rangeOf finds the range holding an address', () => {
    const other = { name: 'other', first: '192.168.50.100', last: '192.168.50.110' };
    expect(rangeOf([range, other], '192.168.50.105')).to.equal(other);
    expect(rangeOf([range, other], '192.168.50.12')).to.equal(range);
    expect(rangeOf([range, other], '192.168.50.50')).to.equal(null);
  });
});
