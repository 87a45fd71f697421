import { expect } from 'chai';
import { biosMismatches, diffBios } from '../../../core/domain/bios-plan';

describe('bios plan: the bios/settings baseline against the BIOS', () => {
  const current = { BootMode: 'Uefi', ProcVirtualization: 'Enabled', NumCores: 8, TurboOn: true };
  it('sets only what differs, by type and value', () => {
    expect(diffBios(current, {})).to.deep.equal({ changes: {}, unknown: [] });
    expect(diffBios(current, { BootMode: 'Uefi' })).to.deep.equal({ changes: {}, unknown: [] });
    expect(diffBios(current, { ProcVirtualization: 'Disabled', NumCores: '8', TurboOn: true })).to.deep.equal({
      changes: { NumCores: '8', ProcVirtualization: 'Disabled' },
      unknown: [],
    });
  });
  it('reports attributes the BIOS does not have', () => {
    expect(diffBios(current, { ProcVirtualisation: 'Disabled', BootMode: 'Bios' })).to.deep.equal({
      changes: { BootMode: 'Bios' },
      unknown: ['ProcVirtualisation'],
    });
  });
  it('names each mismatching field after a change', () => {
    expect(biosMismatches(current, { BootMode: 'Uefi' })).to.deep.equal([]);
    expect(biosMismatches(current, { BootMode: 'Bios', Nope: 1 })).to.deep.equal([
      'BootMode: want "Bios", got "Uefi"',
      'Nope: the BIOS has no such attribute',
    ]);
  });
});
