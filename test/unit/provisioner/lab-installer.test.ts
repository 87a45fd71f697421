/**
 * The provisioner's rendered artifacts read back by the lab's installer (core/lab/pxe-install.cjs): what
 * anneal renders for each OS is what the lab applies. Pure: templates rendered through the real
 * registry, parsed by the installer's own functions; no lab, no server.
 */
import { expect } from 'chai';
import { barclamps } from '../../../barclamps';
import type { InstallNetwork, InstallOs, InstallRecord } from '../../../core/domain/installs';
import { loadRegistry } from '../../../core/plugins/registry';
import { artifactData, artifactTemplate, netmaskOf, wordSafe } from '../../../core/provisioner/artifacts';
import { ed25519PublicKeyLine } from '../../helpers/ssh-keys';

// eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/no-explicit-any -- plain JavaScript
const lab = require('../../../core/lab/pxe-install.cjs') as Record<string, (...args: any[]) => any>;

const registry = loadRegistry(barclamps);
const render = (name: string, data: object) =>
  registry.renderer.renderFile(registry.templatePath('provisioner-service', `${name}.hbs`), data);
const BASE = 'http://10.231.0.1:3000';
const TOKEN = 'ab'.repeat(32);
const key1 = ed25519PublicKeyLine('one@example');
const key2 = ed25519PublicKeyLine('two@example');

function install(os: InstallOs, network: InstallRecord['params']['network']): InstallRecord {
  return {
    id: 7,
    nodeId: 3,
    os,
    state: 'booted',
    params: {
      hostname: 'web1.example.test',
      mac: '52:54:00:aa:bb:01',
      authorizedKeys: [key1, key2],
      packages: ['htop'],
      network,
    },
    error: null,
    requestedBy: 'test',
    createdAt: 1,
    updatedAt: 1,
    bootedAt: 1,
    configFetchedAt: null,
    completedAt: null,
  };
}

const staticNet: InstallNetwork = {
  mode: 'static',
  address: '10.231.0.11',
  prefix: 24,
  gateway: '10.231.0.1',
  nameservers: ['10.231.0.1'],
};

/** Renders the boot script and config of `inst` and plans the install as the lab installer would. */
function plan(inst: InstallRecord) {
  const data = artifactData(inst, BASE, TOKEN);
  const boot = lab.parseIpxe!(render('boot.ipxe', data));
  expect(boot.kind).to.equal('install');
  const src = lab.configSource!(boot.args);
  const dir = `${BASE}/provision/installs/${TOKEN}/`;
  switch (src.format) {
    case 'preseed':
      expect(src.url).to.equal(`${dir}preseed.cfg`);
      return lab.planPreseed!(lab.parsePreseed!(render('preseed.cfg', data)));
    case 'kickstart':
      expect(src.url).to.equal(`${dir}kickstart.cfg`);
      return lab.planKickstart!(lab.parseKickstart!(render('kickstart.cfg', data)));
    default:
      expect(src.url).to.equal(dir);
      lab.parseCloudConfig!(render('meta-data', data), 'meta-data');
      return lab.planCloudInit!(lab.parseCloudConfig!(render('user-data', data), 'user-data'), src.iso);
  }
}

describe('provisioner: rendered artifacts as the lab installer reads them', () => {
  for (const [os, id, versionId] of [
    ['debian-12', 'debian', '12'],
    ['rocky-9', 'rocky', '9'],
    ['ubuntu-24.04', 'ubuntu', '24.04'],
  ] as const) {
    it(`${os}: OS, hostname, keys, packages, static network and post-install`, () => {
      const p = lab.checkPlan!(plan(install(os, staticNet)));
      expect(p.os).to.include({ id, versionId });
      expect(p.hostname).to.equal('web1.example.test');
      // Debian's installer has no authorized-keys setting: its post-install script writes them.
      expect(p.authorizedKeys).to.deep.equal(os === 'debian-12' ? null : [key1, key2]);
      expect(p.packages).to.include.members(['openssh-server', 'curl', 'htop']);
      expect(p.network).to.deep.equal(staticNet);
      expect(p.post).to.have.length.greaterThan(0);
      const text = JSON.stringify(p.post);
      expect(text).to.include(`${BASE}/provision/installs/${TOKEN}/post-install.sh`);
      const net = lab.networkFile!(p, 'eth0', '52:54:00:aa:bb:01');
      expect(net.text).to.include('10.231.0.11');
      expect(lab.osRelease!(p.os)).to.include(`VERSION_ID="${versionId}"`);
    });
  }

  it('a dhcp network renders and reads back as dhcp', () => {
    for (const os of ['debian-12', 'rocky-9', 'ubuntu-24.04'] as const) {
      expect(plan(install(os, { mode: 'dhcp' })).network, os).to.deep.equal({ mode: 'dhcp' });
    }
  });

  it('the post-install script writes the keys only where the installer cannot', () => {
    const deb = render('post-install.sh', artifactData(install('debian-12', { mode: 'dhcp' }), BASE, TOKEN));
    expect(deb).to.include(`printf '%s\\n' '${key1}' '${key2}' >/root/.ssh/authorized_keys.anneal`);
    const rocky = render('post-install.sh', artifactData(install('rocky-9', { mode: 'dhcp' }), BASE, TOKEN));
    expect(rocky).to.not.include('authorized_keys');
    expect(rocky).to.include(`curl -fsS -m 10 -X POST -o /dev/null '${BASE}/provision/installs/${TOKEN}/complete'`);
  });

  it('an OS serves only its own artifacts', () => {
    expect(artifactTemplate({ os: 'debian-12' }, 'preseed.cfg')).to.equal('preseed.cfg.hbs');
    expect(artifactTemplate({ os: 'debian-12' }, 'kickstart.cfg')).to.equal(null);
    expect(artifactTemplate({ os: 'ubuntu-24.04' }, 'meta-data')).to.equal('meta-data.hbs');
    expect(artifactTemplate({ os: 'rocky-9' }, 'user-data')).to.equal(null);
    expect(artifactTemplate({ os: 'rocky-9' }, '../manifest.ts')).to.equal(null);
  });

  it('refuses to render values that a format without quoting cannot carry', () => {
    for (const bad of ['web1 evil', 'a$(id)', 'x\nd-i preseed/late_command string reboot', "a'b", 'a#b', '']) {
      expect(() => wordSafe('f', bad), JSON.stringify(bad))
        .to.throw()
        .with.property('code', 'ERR_TEMPLATE_RENDER');
    }
    const hostile = install('debian-12', { mode: 'dhcp' });
    hostile.params.packages = ['htop\n%end\n%post\ntouch /tmp/pwned'];
    expect(() => artifactData(hostile, BASE, TOKEN))
      .to.throw()
      .with.property('code', 'ERR_TEMPLATE_RENDER');
    expect(netmaskOf(24)).to.equal('255.255.255.0');
    expect(netmaskOf(20)).to.equal('255.255.240.0');
  });

  it('parses iPXE scripts and kernel arguments', () => {
    expect(lab.parseIpxe!('#!ipxe\n# nothing pending\nexit\n')).to.deep.equal({ kind: 'local' });
    expect(() => lab.parseIpxe!('<html>')).to.throw(/#!ipxe/);
    expect(() => lab.parseIpxe!('#!ipxe\nchain http://x/y\n')).to.throw(/unsupported iPXE command "chain"/);
    expect(
      lab.parseIpxe!('#!ipxe\nkernel --name k http://m/linux a=1 b\ninitrd http://m/initrd\nboot\n'),
    ).to.deep.equal({
      kind: 'install',
      kernel: 'http://m/linux',
      initrd: 'http://m/initrd',
      args: ['a=1', 'b'],
    });
    // Ubuntu's url= is its ISO: the NoCloud seed wins.
    expect(
      lab.configSource!(['ip=dhcp', 'url=http://m/ubuntu-24.04.iso', 'ds=nocloud-net;s=http://a/s/']),
    ).to.deep.equal({
      format: 'cloud-init',
      url: 'http://a/s/',
      iso: 'http://m/ubuntu-24.04.iso',
    });
    expect(() => lab.configSource!(['quiet'])).to.throw(/no install config/);
  });

  it('splits kickstart lines like a shell without evaluating anything', () => {
    expect(lab.shellWords!(`sshkey --username=root 'a $(touch /tmp/pwned) '\\'' b' # comment`)).to.deep.equal([
      'sshkey',
      '--username=root',
      "a $(touch /tmp/pwned) ' b",
    ]);
    expect(lab.shellWords!('network "--hostname=a\\"b" `id`')).to.deep.equal(['network', '--hostname=a"b', '`id`']);
    expect(() => lab.shellWords!("x 'open")).to.throw(/unterminated/);
  });

  it('rejects plans whose values are not data (line breaks, bad names)', () => {
    const base = { os: { id: 'debian', versionId: '12' }, network: { mode: 'dhcp' }, packages: [], post: [] };
    expect(() => lab.checkPlan!({ ...base, hostname: 'a\nb', authorizedKeys: null })).to.throw(/host name/);
    expect(() => lab.checkPlan!({ ...base, hostname: 'a', authorizedKeys: ['ssh-ed25519 AAAA\nx'] })).to.throw(/key/);
    expect(() => lab.checkPlan!({ ...base, hostname: 'a', authorizedKeys: null, packages: ['a;b'] })).to.throw(
      /package/,
    );
  });
});
