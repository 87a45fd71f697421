import { expect } from 'chai';
import { describeApi, NOW, type TestApi } from '../../helpers/api';
import { ed25519PublicKeyLine } from '../../helpers/ssh-keys';

const MAC = '52:54:00:aa:bb:01';

async function text(api: TestApi, method: string, path: string) {
  const res = await fetch(api.base.replace(/\/api\/v2$/, '') + path, { method });
  const body = await res.text();
  return { status: res.status, body, json: () => JSON.parse(body) as { error: { code: string } } };
}

/** A committed node with provisioner attribs set. */
async function installableNode(api: TestApi, name: string, attribs: Record<string, unknown>, address = '10.0.0.21') {
  expect((await api.post('/nodes', { name, macs: [MAC.toUpperCase()], address })).status).to.equal(201);
  for (const [attrib, value] of Object.entries(attribs)) {
    const res = await api.call('PUT', `/nodes/${name}/attribs/${attrib}`, { value });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
  }
  expect((await api.post(`/nodes/${name}/commit`)).status).to.equal(200);
}

function tokenOf(script: string): string {
  const m = /\/provision\/installs\/([0-9a-f]{64})\//.exec(script);
  expect(m, script).to.not.equal(null);
  return m![1]!;
}

describeApi('provisioner: network-boot installs over HTTP', (api) => {
  const key = ed25519PublicKeyLine('ops@example');

  it('serves a Debian install end to end: iPXE by MAC, preseed and post-install by token, complete once', async () => {
    await installableNode(api(), 'web1.example.test', {
      'provisioner/authorized-keys': [key],
      'provisioner/packages': ['htop', 'jq'],
      'provisioner/network': { mode: 'static', prefix: 24, gateway: '10.0.0.1', nameservers: ['10.0.0.53'] },
    });
    const req = await api().post('/nodes/web1.example.test/install', {});
    expect(req.status, JSON.stringify(req.body)).to.equal(201);
    expect(req.body).to.include({ os: 'debian-12', state: 'requested', node: 'web1.example.test' });
    expect(JSON.stringify(req.body)).to.not.match(/token/i);

    // iPXE asks with whatever MAC spelling it uses.
    const boot = await text(api(), 'GET', `/provision/boot/${MAC.toUpperCase().replaceAll(':', '-')}`);
    expect(boot.status).to.equal(200);
    expect(boot.body).to.match(/^#!ipxe\n/);
    const token = tokenOf(boot.body);
    const dir = `http://127.0.0.1:3000/provision/installs/${token}/`;
    expect(boot.body).to.include(`url=${dir}preseed.cfg hostname=web1 domain=example.test interface=auto`);
    expect((await api().get('/nodes/web1.example.test/install')).body).to.include({ state: 'booted' });

    const preseed = await text(api(), 'GET', `/provision/installs/${token}/preseed.cfg`);
    expect(preseed.status).to.equal(200);
    expect(preseed.body).to.include('d-i netcfg/hostname string web1.example.test\n');
    expect(preseed.body).to.include('d-i netcfg/get_ipaddress string 10.0.0.21\n');
    expect(preseed.body).to.include('d-i netcfg/get_netmask string 255.255.255.0\n');
    expect(preseed.body).to.include('d-i mirror/suite string bookworm\n');
    expect(preseed.body).to.include('d-i pkgsel/include string openssh-server curl htop jq\n');
    expect(preseed.body).to.include(`-o /root/anneal-post-install.sh '${dir}post-install.sh' && in-target sh`);
    expect((await api().get('/nodes/web1.example.test/install')).body).to.include({ state: 'config-fetched' });

    const post = await text(api(), 'GET', `/provision/installs/${token}/post-install.sh`);
    expect(post.body).to.include(`printf '%s\\n' '${key}' >/root/.ssh/authorized_keys.anneal`);
    expect(post.body).to.include(`curl -fsS -m 10 -X POST -o /dev/null '${dir}complete'`);
    const other = await text(api(), 'GET', `/provision/installs/${token}/kickstart.cfg`);
    expect(other.status).to.equal(404);
    expect(other.json().error.code).to.equal('ERR_ARTIFACT_NOT_FOUND');

    const done = await text(api(), 'POST', `/provision/installs/${token}/complete`);
    expect(done.status).to.equal(200);
    expect(JSON.parse(done.body)).to.deep.include({ state: 'complete' });
    const node = (await api().get('/nodes/web1.example.test')).body as { facts: Record<string, unknown> };
    expect(node.facts.os).to.deep.equal({
      name: 'debian-12',
      id: 'debian',
      versionId: '12',
      install: 1,
      installedAt: NOW,
    });
    const events = (await api().get('/events?limit=1000')).body as { items: unknown[] };

    // A second callback changes nothing; the token is spent for artifacts; the next boot is from disk.
    expect((await text(api(), 'POST', `/provision/installs/${token}/complete`)).status).to.equal(200);
    expect(((await api().get('/events?limit=1000')).body as { items: unknown[] }).items).to.have.length(
      events.items.length,
    );
    expect((await text(api(), 'GET', `/provision/installs/${token}/preseed.cfg`)).status).to.equal(404);
    const again = await text(api(), 'GET', `/provision/boot/${MAC}`);
    expect(again.body).to.equal(
      '#!ipxe\n# anneal: no install is pending for this machine; boot from the local disk.\nexit\n',
    );
    expect((await api().get('/nodes/web1.example.test/install')).body).to.include({ state: 'complete' });
  });

  it('renders Rocky kickstart and Ubuntu autoinstall from the same attribs', async () => {
    await installableNode(api(), 'db1.example.test', { 'provisioner/authorized-keys': [key] });
    await api().post('/nodes/db1.example.test/install', { os: 'rocky-9' });
    const boot = await text(api(), 'GET', `/provision/boot/${MAC}`);
    const token = tokenOf(boot.body);
    expect(boot.body).to.include(`inst.ks=http://127.0.0.1:3000/provision/installs/${token}/kickstart.cfg`);
    const ks = (await text(api(), 'GET', `/provision/installs/${token}/kickstart.cfg`)).body;
    expect(ks).to.include(`sshkey --username=root '${key}'\n`);
    expect(ks).to.include(`--bootproto=dhcp --hostname='db1.example.test'`);
    expect(ks).to.match(/%packages\n@\^minimal-environment\nopenssh-server\ncurl\n%end/);

    const ubuntu = await api().post('/nodes/db1.example.test/install', { os: 'ubuntu-24.04' });
    expect(ubuntu.status).to.equal(201);
    // The rocky install was superseded: its token no longer works.
    expect((await text(api(), 'GET', `/provision/installs/${token}/kickstart.cfg`)).status).to.equal(404);
    const uboot = await text(api(), 'GET', `/provision/boot/${MAC}`);
    const utoken = tokenOf(uboot.body);
    expect(uboot.body).to.include(`ds=nocloud-net;s=http://127.0.0.1:3000/provision/installs/${utoken}/ `);
    const userData = (await text(api(), 'GET', `/provision/installs/${utoken}/user-data`)).body;
    expect(userData.split('\n')[0]).to.equal('#cloud-config');
    const doc = JSON.parse(userData.slice(userData.indexOf('\n'))) as {
      autoinstall: {
        'user-data': { fqdn: string; users: { ssh_authorized_keys: string[] }[] };
        network: { ethernets: { boot: unknown } };
      };
    };
    expect(doc.autoinstall['user-data'].fqdn).to.equal('db1.example.test');
    expect(doc.autoinstall['user-data'].users[0]!.ssh_authorized_keys).to.deep.equal([key]);
    expect(doc.autoinstall.network.ethernets.boot).to.deep.equal({ match: { macaddress: MAC }, dhcp4: true });
    const meta = JSON.parse((await text(api(), 'GET', `/provision/installs/${utoken}/meta-data`)).body);
    expect(meta).to.deep.equal({ 'instance-id': 'anneal-install-2', 'local-hostname': 'db1' });

    // Booting again issues a new token; the previous one stops working.
    const second = tokenOf((await text(api(), 'GET', `/provision/boot/${MAC}`)).body);
    expect(second).to.not.equal(utoken);
    expect((await text(api(), 'GET', `/provision/installs/${utoken}/user-data`)).status).to.equal(404);
    expect((await text(api(), 'GET', `/provision/installs/${second}/user-data`)).status).to.equal(200);
    expect((await api().get('/nodes/db1.example.test/install')).body).to.include({
      id: 2,
      os: 'ubuntu-24.04',
      state: 'config-fetched',
    });
  });

  it('refuses bad input with the error shape and leaks nothing about tokens', async () => {
    const badMac = await text(api(), 'GET', '/provision/boot/not-a-mac');
    expect(badMac.status).to.equal(400);
    expect(badMac.json().error.code).to.equal('ERR_INPUT_INVALID');
    for (const token of ['0'.repeat(64), 'short', '$(touch%20x)']) {
      const res = await text(api(), 'GET', `/provision/installs/${token}/preseed.cfg`);
      expect(res.status, token).to.equal(404);
      expect(res.json().error.code).to.equal('ERR_INSTALL_NOT_FOUND');
      const cb = await text(api(), 'POST', `/provision/installs/${token}/complete`);
      expect(cb.status).to.equal(404);
      expect(cb.json()).to.deep.equal({
        error: {
          code: 'ERR_INSTALL_NOT_FOUND',
          message: 'no install matches this token (unknown, superseded or complete)',
        },
      });
    }
    // No pending install: boot from disk.
    expect((await text(api(), 'GET', `/provision/boot/${MAC}`)).body).to.match(/\nexit\n$/);

    expect((await api().post('/nodes', { name: 'bare.example.test' })).status).to.equal(201);
    const noMac = await api().post('/nodes/bare.example.test/install', {});
    expect(noMac.status).to.equal(409);
    expect(noMac.body).to.have.nested.property('error.code', 'ERR_STATE_INVALID');
    expect((await api().post('/nodes/nope.example.test/install', {})).status).to.equal(404);
    const badOs = await api().post('/nodes/bare.example.test/install', { os: 'windows' });
    expect(badOs.status).to.equal(400);
    expect((await api().get('/nodes/bare.example.test/install')).body).to.have.nested.property(
      'error.code',
      'ERR_INSTALL_NOT_FOUND',
    );

    for (const [attrib, value] of [
      ['provisioner/authorized-keys', ['$(touch /tmp/pwned)']],
      ['provisioner/authorized-keys', [`${key}\nssh-ed25519 AAAA evil`]],
      ['provisioner/authorized-keys', ['ssh-ed25519 QUFBQQ== not-a-key']],
      ['provisioner/packages', ['htop; rm -rf /']],
      ['provisioner/packages', ['`id`']],
      ['provisioner/network', { mode: 'static', prefix: 24, gateway: '10.0.0.1; reboot', nameservers: [] }],
    ] as const) {
      const res = await api().call('PUT', `/nodes/bare.example.test/attribs/${attrib}`, { value });
      expect(res.status, JSON.stringify(value)).to.equal(422);
      expect(res.body).to.have.nested.property('error.code', 'ERR_ATTRIB_INVALID');
    }
  });

  it('refuses a static network without an address', async () => {
    await installableNode(
      api(),
      'noaddr.example.test',
      { 'provisioner/network': { mode: 'static', prefix: 24, gateway: '10.0.0.1', nameservers: [] } },
      'noaddr.example.test',
    );
    const res = await api().post('/nodes/noaddr.example.test/install', {});
    expect(res.status).to.equal(409);
    expect(res.body).to.have.nested.property('error.code', 'ERR_STATE_INVALID');
  });
});
