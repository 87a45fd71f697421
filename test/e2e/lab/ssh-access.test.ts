/**
 * Acceptance (ready-state issue, ssh-access): ssh-access and ssh-known-hosts bound on 3 lab nodes. Root's
 * authorized_keys holds anneal's managed key first and the ssh-access/authorized-keys key (which then
 * logs in too); every node's host keys are recorded as ssh-access/host-keys, equal to the keys its sshd
 * serves; /etc/ssh/ssh_known_hosts on every node lists every node, so node-to-node SSH with strict host
 * key checking works by address and by name. A second converge changes nothing (checksums, mtimes). A
 * node that joins later becomes a parent of the existing ssh-known-hosts node-roles, which run again and
 * list it. Checks pass, and fail with their remediation once the state is broken.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { labUp } from '../../../core/lab';
import { silentLogger } from '../../../core/log';
import { DEPLOYMENT, readyLab, requireReadyLab, type ReadyLab } from '../../helpers/ready-lab';

describe('e2e: ssh-access barclamp on lab nodes', function () {
  this.timeout(400_000);
  let t: ReadyLab;
  let keyDir: string;
  let extraKey: string;
  let extraPub: string;
  let n4Name = '';

  before(async function () {
    requireReadyLab(this, ['ssh-keygen', 'sshd']);
    keyDir = mkdtempSync(path.join(tmpdir(), 'anneal-ssh-access-'));
    extraKey = path.join(keyDir, 'operator');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'operator@test', '-f', extraKey]);
    extraPub = readFileSync(`${extraKey}.pub`, 'utf8').trim();
    t = await readyLab({
      prefix: 'ssha',
      nodes: 3,
      attribs: { 'ssh-access/authorized-keys': [extraPub] },
      bind: ['ssh-access', 'ssh-known-hosts'],
    });
  });

  after(async () => {
    await t?.close();
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  const managed = () => readFileSync(`${t.key}.pub`, 'utf8').trim();
  const keyId = (l: string) => l.split(' ').slice(0, 2).join(' ');

  /** Checksums and mtimes of the files the roles write. */
  function fileState(ip: string): string {
    return t.sh(
      ip,
      'for f in /root/.ssh/authorized_keys /etc/ssh/ssh_known_hosts; do echo "$(sha256sum <"$f" | cut -c1-16) $(stat -c "%Y %a" "$f") $f"; done',
    );
  }

  /** The host keys the node's sshd serves, as `<type> <base64>`, sorted. */
  function servedKeys(ip: string): string[] {
    return t
      .sh(ip, 'for p in $(sshd -T | awk \'$1 == "hostkey" { print $2 }\'); do cut -d" " -f1,2 "$p.pub"; done')
      .trim()
      .split('\n')
      .sort();
  }

  async function recordedKeys(name: string): Promise<unknown> {
    const { store } = t.anneal;
    const node = await store.nodes.get(name);
    return (await store.attribs.list('node', node.id)).find((a) => a.attrib === 'ssh-access/host-keys')?.committed;
  }

  function knownHostsFor(nodes: { name: string; ip: string }[], keys: Record<string, string[]>): string {
    return (
      '# Managed by anneal (ssh-known-hosts): every node of the deployment; local edits are overwritten.\n' +
      nodes.map((n) => keys[n.name]!.map((k) => `${n.name},${n.name.split('.')[0]},${n.ip} ${k}\n`).join('')).join('')
    );
  }

  it('converges: authorized_keys, recorded host keys and a known_hosts of every node; a second run changes nothing', async () => {
    const ms = await t.converge();
    console.log(`    first converge: ${ms} ms`);
    const nrs = await t.nodeRoles();
    expect(nrs.filter((n) => n.role === 'ssh-access')).to.have.length(3);
    expect(nrs.filter((n) => n.role === 'ssh-known-hosts')).to.have.length(3);
    // Each ssh-known-hosts ran once, after every ssh-access (cluster parents).
    for (const nr of nrs.filter((n) => n.role === 'ssh-known-hosts')) {
      expect((await t.runs(nr.id)).filter((r) => r.status === 'succeeded')).to.have.length(1);
    }

    const keys: Record<string, string[]> = {};
    for (const n of t.lab.nodes) {
      keys[n.name] = servedKeys(n.ip);
      expect(keys[n.name]!.map((k) => k.split(' ')[0])).to.deep.equal(['ecdsa-sha2-nistp256', 'ssh-ed25519']);
      expect(await recordedKeys(n.name)).to.deep.equal(keys[n.name]);
    }
    for (const n of t.lab.nodes) {
      expect(t.sh(n.ip, 'cat /root/.ssh/authorized_keys')).to.equal(
        "# Managed by anneal (ssh-access): anneal's key, then ssh-access/authorized-keys; local edits are overwritten.\n" +
          `${managed()}\n${extraPub}\n`,
      );
      expect(t.sh(n.ip, 'cat /etc/ssh/ssh_known_hosts')).to.equal(knownHostsFor(t.lab.nodes, keys));
      expect(fileState(n.ip)).to.match(/ 600 \/root\/.ssh\/authorized_keys\n.* 644 \/etc\/ssh\/ssh_known_hosts\n$/);
    }

    // The operator's key logs in too; from n1 (with that key) every node is accepted with strict host key
    // checking against the distributed known_hosts only, by address and by name.
    const [n1, n2, n3] = t.lab.nodes as [(typeof t.lab.nodes)[0], (typeof t.lab.nodes)[0], (typeof t.lab.nodes)[0]];
    const viaOperator = execFileSync(
      'ssh',
      [
        ...['-i', extraKey, '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=no'],
        ...['-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes'],
        `root@${n2.ip}`,
        'hostname',
      ],
      { encoding: 'utf8' },
    );
    expect(viaOperator.trim()).to.equal(n2.name);
    t.sh(n1.ip, `umask 077; cat >/root/.ssh/operator <<'EOF'\n${readFileSync(extraKey, 'utf8')}EOF`);
    const strict =
      'ssh -i /root/.ssh/operator -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes ' +
      '-o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/etc/ssh/ssh_known_hosts -o ConnectTimeout=3';
    expect(t.sh(n1.ip, `${strict} root@${n2.ip} hostname`).trim()).to.equal(n2.name);
    expect(t.sh(n1.ip, `${strict} -o HostKeyAlias=${n3.name} root@${n3.ip} hostname`).trim()).to.equal(n3.name);
    // A wrong name for the address is refused: known_hosts really is what is checked.
    const wrong = t.ssh(n1.ip, `${strict} -o HostKeyAlias=${n3.name} root@${n2.ip} hostname`);
    expect(wrong.status).to.not.equal(0);
    expect(wrong.stderr).to.match(/host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/i);
    t.sh(n1.ip, 'rm -f /root/.ssh/operator');

    // Second run: every node-role runs again and changes nothing.
    const before = t.lab.nodes.map((n) => fileState(n.ip));
    const lastEvent = (await t.anneal.store.events.list({}, 1_000_000)).at(-1)?.id ?? 0;
    const ms2 = await t.rerun(nrs.map((n) => n.id));
    console.log(`    second converge (bumped ${nrs.length} node-roles): ${ms2} ms`);
    for (const nr of nrs) {
      const ok = (await t.runs(nr.id)).filter((r) => r.status === 'succeeded');
      expect(ok.length, `${nr.role} on ${nr.node} ran twice`).to.equal(2);
      expect(ok[1]!.stdoutTail).to.match(/^unchanged: /m);
      expect(ok[1]!.stdoutTail).to.not.match(/^changed/m);
    }
    expect(t.lab.nodes.map((n) => fileState(n.ip))).to.deep.equal(before);
    for (const n of t.lab.nodes) expect(await recordedKeys(n.name)).to.deep.equal(keys[n.name]);
    // Recording the same host keys again re-runs nothing and writes no attrib event.
    const newEvents = (await t.anneal.store.events.list({ afterId: lastEvent })).map((e) => e.type);
    expect(newEvents.filter((e) => e.startsWith('attrib') || e === 'node-roles.rerun')).to.deep.equal([]);
  });

  it('a node that joins is added to every known_hosts: the existing ssh-known-hosts node-roles run again', async () => {
    const { services } = t.anneal;
    const lab = await labUp({ name: t.name, nodes: 4, log: silentLogger });
    const n4 = lab.nodes[3]!;
    n4Name = n4.name;
    const node = await services.inventory.createNode(
      { name: n4.name, address: n4.ip, macs: n4.macs, alive: true, deployment: DEPLOYMENT },
      'test',
    );
    const runsBefore = new Map<number, number>();
    for (const nr of await t.nodeRoles()) runsBefore.set(nr.id, (await t.runs(nr.id)).length);
    await services.binding.bind(t.deploymentId, 'ssh-access', node.id);
    await services.binding.bind(t.deploymentId, 'ssh-known-hosts', node.id);
    await services.changes.commitNode(node.id, 'test');
    await t.converge();

    const all = lab.nodes;
    const keys = Object.fromEntries(all.map((n) => [n.name, servedKeys(n.ip)]));
    for (const n of all) expect(t.sh(n.ip, 'cat /etc/ssh/ssh_known_hosts')).to.equal(knownHostsFor(all, keys));
    const rerun: string[] = [];
    for (const nr of await t.nodeRoles()) {
      const before = runsBefore.get(nr.id);
      if (before !== undefined && (await t.runs(nr.id)).length > before) rerun.push(`${nr.role} ${nr.node}`);
    }
    // Only the known_hosts of the three existing nodes ran again; their ssh-access did not.
    expect(rerun.sort()).to.deep.equal(t.lab.nodes.map((n) => `ssh-known-hosts ${n.name}`).sort());
  });

  it('checks pass, and fail with the remediation once authorized_keys and known_hosts are broken', async () => {
    const { services } = t.anneal;
    const [n1, n2] = t.lab.nodes as [(typeof t.lab.nodes)[0], (typeof t.lab.nodes)[0]];
    const ok = await services.checks.forNode(n2.name);
    expect(ok, JSON.stringify(ok.checks)).to.deep.include({ ok: true, failed: 0 });
    expect(ok.checks.map((c) => `${c.role}: ${c.name}`)).to.deep.equal([
      "ssh-access: SSH answers with anneal's managed key",
      "ssh-access: root's authorized_keys holds anneal's managed key",
      "ssh-access: root's authorized_keys holds every key of ssh-access/authorized-keys",
      'ssh-access: the host keys sshd serves are the recorded ones',
      ...[...t.lab.nodes.map((n) => n.name), n4Name].map(
        (name) => `ssh-known-hosts: /etc/ssh/ssh_known_hosts lists ${name}`,
      ),
    ]);

    // The operator's key gone from authorized_keys, n1's lines gone from known_hosts.
    t.sh(
      n2.ip,
      `sed -i '/operator@test/d' /root/.ssh/authorized_keys; sed -i '/^${n1.name},/d' /etc/ssh/ssh_known_hosts`,
    );
    const bad = await services.checks.forNode(n2.name);
    expect(bad).to.deep.include({ ok: false, failed: 2 });
    expect(bad.checks.filter((c) => !c.ok).map((c) => [c.name, c.remediation])).to.deep.equal([
      [
        "root's authorized_keys holds every key of ssh-access/authorized-keys",
        `re-run the ssh-access node-role of ${n2.name}`,
      ],
      [`/etc/ssh/ssh_known_hosts lists ${n1.name}`, `re-run the ssh-known-hosts node-role of ${n2.name}`],
    ]);
    expect(keyId(managed())).to.match(/^ssh-ed25519 |^ssh-rsa |^ecdsa-/);

    // Re-running both node-roles of n2 heals it.
    const mine = (await t.nodeRoles()).filter((nr) => nr.node === n2.name).map((nr) => nr.id);
    await t.rerun(mine);
    expect(await services.checks.forNode(n2.name)).to.deep.include({ ok: true, failed: 0 });
  });
});
