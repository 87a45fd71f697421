import { expect } from 'chai';
import { bootTarget, mapPowerState, planReset, redfishErrorText } from '../../../core/power/redfish-plan';

describe('redfish driver: pure parts', () => {
  describe('planReset', () => {
    it('uses the standard reset type of each action when the BMC advertises none', () => {
      expect(planReset('on')).to.deep.equal(['On']);
      expect(planReset('off', [])).to.deep.equal(['ForceOff']);
      expect(planReset('cycle', null)).to.deep.equal(['PowerCycle']);
      expect(planReset('reset')).to.deep.equal(['ForceRestart']);
    });

    it('keeps the standard reset type when the BMC allows it', () => {
      const all = ['On', 'ForceOff', 'GracefulShutdown', 'ForceRestart', 'PowerCycle', 'Nmi'];
      expect(planReset('on', all)).to.deep.equal(['On']);
      expect(planReset('off', all)).to.deep.equal(['ForceOff']);
      expect(planReset('cycle', all)).to.deep.equal(['PowerCycle']);
      expect(planReset('reset', all)).to.deep.equal(['ForceRestart']);
    });

    it('falls back to what the BMC allows', () => {
      expect(planReset('cycle', ['On', 'ForceOff', 'ForceRestart'])).to.deep.equal(['ForceOff', 'On']);
      expect(planReset('cycle', ['On', 'GracefulShutdown'])).to.deep.equal(['GracefulShutdown', 'On']);
      expect(planReset('off', ['On', 'GracefulShutdown'])).to.deep.equal(['GracefulShutdown']);
      expect(planReset('on', ['ForceOn', 'ForceOff'])).to.deep.equal(['ForceOn']);
      expect(planReset('reset', ['On', 'GracefulRestart'])).to.deep.equal(['GracefulRestart']);
      expect(planReset('reset', ['On', 'ForceOff'])).to.deep.equal(['ForceOff', 'On']);
    });

    it('returns null when nothing the BMC allows does the action', () => {
      expect(planReset('on', ['ForceOff', 'Nmi'])).to.equal(null);
      expect(planReset('cycle', ['Nmi', 'PushPowerButton'])).to.equal(null);
    });
  });

  it('maps PowerState, transitions to where they are heading', () => {
    expect(mapPowerState('On')).to.deep.equal({ state: 'on', settled: true });
    expect(mapPowerState('Off')).to.deep.equal({ state: 'off', settled: true });
    expect(mapPowerState('PoweringOn')).to.deep.equal({ state: 'on', settled: false });
    expect(mapPowerState('PoweringOff')).to.deep.equal({ state: 'off', settled: false });
    expect(mapPowerState('Paused')).to.deep.equal({ state: 'on', settled: true });
    expect(mapPowerState(undefined)).to.equal(null);
    expect(mapPowerState('on')).to.equal(null);
  });

  it('maps boot devices to BootSourceOverrideTarget', () => {
    expect(bootTarget('pxe')).to.equal('Pxe');
    expect(bootTarget('disk')).to.equal('Hdd');
  });

  it('reads the text of Redfish error bodies', () => {
    const body = {
      error: {
        code: 'Base.1.8.1.GeneralError',
        message: 'A general error has occurred. See ExtendedInfo for more information.',
        '@Message.ExtendedInfo': [
          { MessageId: 'Base.1.8.1.PropertyValueNotInList', Message: 'The value Foo is not in the list.' },
          { MessageId: 'Base.1.8.1.PropertyValueNotInList', Message: 'The value Foo is not in the list.' },
        ],
      },
    };
    expect(redfishErrorText(body)).to.equal(
      'A general error has occurred. See ExtendedInfo for more information. The value Foo is not in the list.',
    );
    expect(redfishErrorText({ error: { code: 'Base.1.8.1.InternalError' } })).to.equal('Base.1.8.1.InternalError');
    expect(redfishErrorText({ '@Message.ExtendedInfo': [{ Message: 'Success' }] })).to.equal('Success');
    expect(redfishErrorText('<html>')).to.equal('');
    expect(redfishErrorText(null)).to.equal('');
  });
});
