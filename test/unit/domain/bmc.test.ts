import { expect } from 'chai';
import { bmcEndpoint } from '../../../core/domain/bmc';

describe('bmcEndpoint', () => {
  it('takes the port from the address, or the driver default', () => {
    expect(bmcEndpoint('127.0.0.1:9001', 'ipmi')).to.deep.equal({ host: '127.0.0.1', port: 9001 });
    expect(bmcEndpoint('10.0.0.5', 'ipmi')).to.deep.equal({ host: '10.0.0.5', port: 623 });
    expect(bmcEndpoint('bmc1.example', 'redfish')).to.deep.equal({ host: 'bmc1.example', port: 443 });
    expect(bmcEndpoint('[fd00::5]:8443', 'redfish')).to.deep.equal({ host: 'fd00::5', port: 8443 });
    expect(bmcEndpoint('fd00::5', 'ipmi')).to.deep.equal({ host: 'fd00::5', port: 623 });
    expect(bmcEndpoint('[fd00::5]', 'ipmi')).to.deep.equal({ host: 'fd00::5', port: 623 });
  });
});
