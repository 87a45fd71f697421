/**
 * The provisioner's use cases (DESIGN §2 item 3, docs/provisioner.md): an operator requests an install
 * for a node's next network boot; the booting machine fetches its iPXE script by MAC, then its install
 * artifacts by the token that script carried, and calls back install-complete.
 *
 * Contract: machine-facing calls never say why a token is refused (unknown, superseded, spent all give
 * ERR_INSTALL_NOT_FOUND). Every served iPXE script for a pending install issues a new token; only its
 * hash is stored. `complete` is idempotent: a repeated callback changes nothing. State changes are
 * compare-and-set in the store, so concurrent requests for one install move it once.
 */
import { resolveAttribs } from '../domain/attribs';
import {
  installOses,
  isPendingInstall,
  type InstallNetwork,
  type InstallOs,
  type InstallParams,
  type InstallRecord,
} from '../domain/installs';
import { AppError, inputError } from '../errors';
import { artifactData, artifactTemplate } from '../provisioner/artifacts';
import { osCatalog } from '../provisioner/os-catalog';
import { hashInstallToken, newInstallToken, TOKEN_PATTERN } from '../provisioner/token';
import { audit, useCase, type Actor, type ServiceDeps } from './deps';

/** The role whose plugin holds the artifact templates. */
const TEMPLATE_ROLE = 'provisioner-service';
const MACHINE: Actor = 'provisioner';
const ATTRIBS = ['provisioner/os', 'provisioner/authorized-keys', 'provisioner/packages', 'provisioner/network'];
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** An install as the API shows it (no token: the machine gets that in its iPXE script only). */
export type InstallView = InstallRecord & { node: string };

export function provisionerService(deps: ServiceDeps) {
  const { store, registry } = deps;

  const render = (template: string, data: object): string =>
    registry.renderer.renderFile(registry.templatePath(TEMPLATE_ROLE, template), data);

  const unknownToken = () =>
    new AppError('ERR_INSTALL_NOT_FOUND', 'no install matches this token (unknown, superseded or complete)');

  async function view(install: InstallRecord): Promise<InstallView> {
    return { ...install, node: (await store.nodes.get(install.nodeId)).name };
  }

  /** The provisioner attribs of a node, resolved defaults < deployment < node and validated. */
  async function resolvedAttribs(node: { id: number; deploymentId: number }) {
    const values = await store.attribs.committedFor({
      deploymentIds: [node.deploymentId],
      nodeIds: [node.id],
      nodeRoleIds: [],
    });
    const resolved = resolveAttribs(ATTRIBS, (name) => registry.attrib(name), values, {
      deploymentId: node.deploymentId,
      nodeId: node.id,
      nodeRoleId: -1,
    });
    const issues = ATTRIBS.flatMap((name) => {
      const checked = registry.validateAttribValue(name, resolved.values[name]);
      if (checked.ok) {
        resolved.values[name] = checked.value;
        return [];
      }
      return checked.issues;
    });
    if (issues.length) throw inputError(issues, 'ERR_ATTRIB_INVALID');
    return resolved.values;
  }

  /**
   * Records an install of `input.os` (default: the node's `provisioner/os`) for the node's next network
   * boot, rendering from the node's committed provisioner attribs as they are now. A pending install of
   * the node is superseded. Throws ERR_NODE_NOT_FOUND, ERR_INPUT_INVALID (os), ERR_ATTRIB_INVALID,
   * ERR_STATE_INVALID (a service node, no MAC, or static network without an IPv4 address).
   */
  async function requestInstall(ref: number | string, input: { os?: string }, actor: Actor): Promise<InstallView> {
    const node = await store.nodes.get(ref);
    if (input.os !== undefined && !(installOses as readonly string[]).includes(input.os)) {
      throw inputError([{ field: 'os', message: `expected one of: ${installOses.join(', ')}` }]);
    }
    if (node.system) {
      throw new AppError(
        'ERR_STATE_INVALID',
        `node "${node.name}" is a deployment's service node: it is not installed`,
      );
    }
    const mac = node.macs[0];
    if (!mac) {
      throw new AppError('ERR_STATE_INVALID', `node "${node.name}" has no MAC address: it cannot network-boot`, {
        details: { ref },
      });
    }
    const a = await resolvedAttribs(node);
    const net = a['provisioner/network'] as
      { mode: 'dhcp' } | Omit<Extract<InstallNetwork, { mode: 'static' }>, 'address'>;
    let network: InstallNetwork = { mode: 'dhcp' };
    if (net.mode === 'static') {
      if (!node.address || !IPV4.test(node.address)) {
        throw new AppError(
          'ERR_STATE_INVALID',
          `node "${node.name}" has provisioner/network mode static but no IPv4 address: set the node's address`,
        );
      }
      network = { ...net, address: node.address };
    }
    const os = (input.os ?? a['provisioner/os']) as InstallOs;
    const params: InstallParams = {
      hostname: node.name,
      mac,
      // anneal's own key first, so it can reach the machine it installed.
      authorizedKeys: [
        ...new Set([
          ...(deps.managedPublicKey ? [deps.managedPublicKey] : []),
          ...(a['provisioner/authorized-keys'] as string[]),
        ]),
      ],
      packages: a['provisioner/packages'] as string[],
      network,
    };
    const now = deps.now();
    // The machine gets new host keys with its new OS: forget the recorded one (the ssh jig records the
    // new key on first contact instead of refusing it as changed).
    return useCase(deps, async (uow) => {
      const { tx } = uow;
      if (node.sshHostKey) await tx.nodes.update(node.id, { sshHostKey: null }, now);
      const { install, superseded } = await tx.installs.request(
        { nodeId: node.id, os, params, requestedBy: actor },
        now,
      );
      await audit(
        uow,
        [
          { actor, type: 'install.request', objectType: 'node', objectId: node.id, data: { install: install.id, os } },
          ...superseded.map((id) => ({
            actor,
            type: 'install.supersede',
            objectType: 'node',
            objectId: node.id,
            data: { install: id, by: install.id },
          })),
        ],
        now,
      );
      return { ...install, node: node.name };
    });
  }

  /** The node's most recent install. Throws ERR_NODE_NOT_FOUND, ERR_INSTALL_NOT_FOUND. */
  async function currentInstall(ref: number | string): Promise<InstallView> {
    const node = await store.nodes.get(ref);
    const install = await store.installs.latestForNode(node.id);
    if (!install)
      throw new AppError('ERR_INSTALL_NOT_FOUND', `node "${node.name}" has no install`, { details: { ref } });
    return { ...install, node: node.name };
  }

  /**
   * The iPXE script for a machine booting from the network with `mac` (lower case, colons): its
   * install's boot script with a fresh token when it has a pending install, otherwise a script that
   * boots the local disk.
   */
  async function bootScript(mac: string, baseUrl: string): Promise<string> {
    const match = (await store.installs.pendingWithMacs()).filter((p) => p.macs.includes(mac)).pop();
    if (!match) return render('local-boot.ipxe.hbs', {});
    const token = newInstallToken();
    const now = deps.now();
    const booted = await useCase(deps, async (uow) => {
      if (!(await uow.tx.installs.markBooted(match.install.id, hashInstallToken(token), now))) return false;
      await audit(
        uow,
        [
          {
            actor: MACHINE,
            type: 'install.boot',
            objectType: 'node',
            objectId: match.install.nodeId,
            data: { install: match.install.id, mac },
          },
        ],
        now,
      );
      return true;
    });
    // Not booted: superseded or completed meanwhile.
    if (!booted) return render('local-boot.ipxe.hbs', {});
    return render('boot.ipxe.hbs', artifactData(match.install, baseUrl, token));
  }

  async function installByToken(token: string): Promise<InstallRecord | null> {
    if (!TOKEN_PATTERN.test(token)) return null;
    return store.installs.byTokenHash(hashInstallToken(token));
  }

  /**
   * One rendered artifact of a pending install. Fetching the OS's install config moves it to
   * config-fetched. Throws ERR_INSTALL_NOT_FOUND (token), ERR_ARTIFACT_NOT_FOUND, ERR_TEMPLATE_RENDER.
   */
  async function artifact(token: string, name: string, baseUrl: string): Promise<string> {
    const install = await installByToken(token);
    if (!install || !isPendingInstall(install.state)) throw unknownToken();
    const template = artifactTemplate(install, name);
    if (!template) {
      throw new AppError('ERR_ARTIFACT_NOT_FOUND', `a ${install.os} install has no artifact ${JSON.stringify(name)}`, {
        details: { artifacts: osCatalog[install.os].artifacts },
      });
    }
    const text = render(template, artifactData(install, baseUrl, token));
    if (name === osCatalog[install.os].configArtifact) {
      const now = deps.now();
      await useCase(deps, async (uow) => {
        if (await uow.tx.installs.markConfigFetched(install.id, now)) {
          await audit(
            uow,
            [
              {
                actor: MACHINE,
                type: 'install.config-fetched',
                objectType: 'node',
                objectId: install.nodeId,
                data: { install: install.id, artifact: name },
              },
            ],
            now,
          );
        }
      });
    }
    return text;
  }

  /**
   * The install-complete callback: marks the install complete and records the OS in the node's facts
   * (`facts.os`). A second callback for the same install changes nothing. Throws ERR_INSTALL_NOT_FOUND.
   */
  async function complete(token: string): Promise<InstallView> {
    const install = await installByToken(token);
    if (!install || install.state === 'failed' || install.state === 'requested') throw unknownToken();
    if (install.state === 'complete') return view(install);
    const now = deps.now();
    await useCase(deps, async (uow) => {
      const { tx } = uow;
      if (await tx.installs.markComplete(install.id, now)) {
        const node = await tx.nodes.get(install.nodeId);
        const os = osCatalog[install.os];
        const facts = {
          ...node.facts,
          os: { name: install.os, id: os.id, versionId: os.versionId, install: install.id, installedAt: now },
        };
        await tx.nodes.update(node.id, { facts }, now);
        await audit(
          uow,
          [
            {
              actor: MACHINE,
              type: 'install.complete',
              objectType: 'node',
              objectId: node.id,
              data: { install: install.id, os: install.os },
            },
          ],
          now,
        );
      }
    });
    const after = await store.installs.get(install.id);
    if (after.state !== 'complete') throw unknownToken(); // superseded between the read and the update
    return view(after);
  }

  return { requestInstall, currentInstall, bootScript, artifact, complete };
}
