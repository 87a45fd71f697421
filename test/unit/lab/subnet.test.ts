import { expect } from 'chai';
import { AppError } from '../../../core/errors';
import {
  LAB_HOST_IP,
  LAB_SUBNET,
  labSubnetProblem,
  MAX_NODES,
  nodeIp,
  parseLabSubnet,
  portBlock,
  PORT_BLOCK_SIZE,
  subnetContains,
  subnetHostIp,
  subnetPrefixLength,
  subnetsOverlap,
  validHostIp,
} from '../../../core/lab/layout';

describe('lab subnets (core/lab/layout.ts)', () => {
  it('keeps the default lab where it always was', () => {
    expect(LAB_SUBNET).to.equal('10.231.0.0/24');
    expect(subnetHostIp()).to.equal(LAB_HOST_IP);
    expect(nodeIp(1)).to.equal('10.231.0.11');
    expect(nodeIp(MAX_NODES)).to.equal('10.231.0.210');
    expect(subnetPrefixLength()).to.equal(24);
  });

  it("puts the host on the subnet's .1 and node i on .(10+i)", () => {
    expect(subnetHostIp('10.232.0.0/24')).to.equal('10.232.0.1');
    expect(nodeIp(1, '10.232.0.0/24')).to.equal('10.232.0.11');
    expect(nodeIp(MAX_NODES, '10.232.0.0/24')).to.equal('10.232.0.210');
    expect(subnetHostIp('172.20.0.0/16')).to.equal('172.20.0.1');
    expect(nodeIp(3, '172.20.0.0/16')).to.equal('172.20.0.13');
    expect(nodeIp(2, '192.168.77.0/24')).to.equal('192.168.77.12');
    expect(subnetPrefixLength('172.20.0.0/16')).to.equal(16);
  });

  it('accepts private /16 to /24 networks with their host bits zero', () => {
    for (const ok of ['10.231.0.0/24', '10.232.0.0/24', '10.0.0.0/16', '172.16.0.0/16', '172.31.255.0/24']) {
      expect(labSubnetProblem(ok), ok).to.equal(null);
    }
    for (const ok of ['192.168.0.0/16', '192.168.200.0/23', '10.255.255.0/24']) {
      expect(labSubnetProblem(ok), ok).to.equal(null);
    }
    expect(parseLabSubnet('10.232.4.0/22')).to.deep.equal({ network: 0x0ae80400, prefixLength: 22, size: 1024 });
  });

  it('refuses other subnets with one sentence that names the fix', () => {
    expect(labSubnetProblem('10.232.0.5/24')).to.equal(
      '"10.232.0.5/24" has host bits set; write its network address: 10.232.0.0/24',
    );
    expect(labSubnetProblem('10.232.0.0/25')).to.equal(
      '"10.232.0.0/25" is a /25; a lab subnet is a /16 to /24 (e.g. 10.232.0.0/24)',
    );
    expect(labSubnetProblem('10.0.0.0/8')).to.match(/is a \/8; a lab subnet is a \/16 to \/24/);
    expect(labSubnetProblem('8.8.8.0/24')).to.equal(
      '"8.8.8.0/24" is not a private range; use one inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 (e.g. 10.232.0.0/24)',
    );
    for (const notPrivate of ['172.32.0.0/16', '172.15.0.0/24', '192.169.0.0/24', '127.0.0.0/24', '169.254.0.0/16']) {
      expect(labSubnetProblem(notPrivate), notPrivate).to.match(/is not a private range/);
    }
    for (const malformed of ['', 'foo', '10.232.0.0', '10.232.0.0/', '10.232.0/24', '010.232.0.0/24', '10.232.0.0/x']) {
      expect(labSubnetProblem(malformed), malformed).to.match(/is not an IPv4 network in CIDR form/);
    }
    expect(() => parseLabSubnet('10.232.0.5/24'))
      .to.throw(AppError)
      .with.property('code', 'ERR_INPUT_INVALID');
  });

  it('tells which addresses a subnet holds and which subnets overlap', () => {
    expect(subnetContains('10.232.0.0/24', '10.232.0.255')).to.equal(true);
    expect(subnetContains('10.232.0.0/24', '10.232.1.0')).to.equal(false);
    expect(subnetContains('10.232.0.0/24', 'nope')).to.equal(false);
    expect(subnetsOverlap('10.233.0.0/24', '10.234.0.0/24')).to.equal(false);
    expect(subnetsOverlap('10.233.0.0/24', '10.233.0.0/24')).to.equal(true);
    expect(subnetsOverlap('10.233.0.0/16', '10.233.7.0/24')).to.equal(true);
    expect(subnetsOverlap('10.233.7.0/24', '10.233.0.0/16')).to.equal(true);
    expect(subnetsOverlap('10.232.255.0/24', '10.233.0.0/16')).to.equal(false);
    // A host interface's address with its prefix length: the network it is on.
    expect(subnetsOverlap('10.0.2.15/8', '10.231.0.0/24')).to.equal(true);
    expect(subnetsOverlap('192.0.2.2/24', '10.231.0.0/24')).to.equal(false);
    expect(subnetsOverlap('127.0.0.1/8', '10.231.0.0/24')).to.equal(false);
  });

  it('allows the host address from .1 to .10, below the nodes', () => {
    expect(validHostIp('10.232.0.0/24', '10.232.0.1')).to.equal(true);
    expect(validHostIp('10.232.0.0/24', '10.232.0.10')).to.equal(true);
    expect(validHostIp('10.232.0.0/24', '10.232.0.0')).to.equal(false);
    expect(validHostIp('10.232.0.0/24', '10.232.0.11')).to.equal(false);
    expect(validHostIp('10.232.0.0/24', '10.231.0.1')).to.equal(false);
  });

  it('gives port block k BMC 9000+200k and Redfish 8000+200k, so a lab can grow to 200 nodes in its block', () => {
    expect(PORT_BLOCK_SIZE).to.equal(MAX_NODES);
    expect(portBlock(0)).to.deep.equal({ bmcBasePort: 9000, redfishBasePort: 8000 });
    expect(portBlock(1)).to.deep.equal({ bmcBasePort: 9200, redfishBasePort: 8200 });
    expect(portBlock(3)).to.deep.equal({ bmcBasePort: 9600, redfishBasePort: 8600 });
  });
});
