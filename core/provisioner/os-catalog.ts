/**
 * What the provisioner knows about each operating system: where its network-boot kernel and initrd
 * are, which install-config format its installer reads, and which artifacts an install of it serves.
 * Pure data. NOTE: the media URLs are the distributions' public netboot locations over plain HTTP
 * (iPXE builds without TLS are common); a site mirror setting is future work (docs/provisioner.md).
 */
import type { InstallOs } from '../domain/installs';

export type ConfigFormat = 'preseed' | 'kickstart' | 'cloud-init';

export interface OsEntry {
  id: 'debian' | 'ubuntu' | 'rocky';
  versionId: string;
  codename: string;
  format: ConfigFormat;
  kernel: string;
  initrd: string;
  /** Debian: package mirror host and directory; Rocky: BaseOS repository; Ubuntu: live-server ISO. */
  mirrorHost: string;
  mirrorDirectory: string;
  repo: string;
  iso: string;
  /** Artifacts served under /provision/installs/<token>/, each rendered from `<name>.hbs`. */
  artifacts: readonly string[];
  /** The artifact whose fetch means "the installer read its config" (state config-fetched). */
  configArtifact: string;
  /** Packages every install gets (the post-install script needs curl; anneal needs sshd). */
  basePackages: readonly string[];
}

export const osCatalog: Record<InstallOs, OsEntry> = {
  'debian-12': {
    id: 'debian',
    versionId: '12',
    codename: 'bookworm',
    format: 'preseed',
    kernel:
      'http://deb.debian.org/debian/dists/bookworm/main/installer-amd64/current/images/netboot/debian-installer/amd64/linux',
    initrd:
      'http://deb.debian.org/debian/dists/bookworm/main/installer-amd64/current/images/netboot/debian-installer/amd64/initrd.gz',
    mirrorHost: 'deb.debian.org',
    mirrorDirectory: '/debian',
    repo: '',
    iso: '',
    artifacts: ['preseed.cfg', 'post-install.sh'],
    configArtifact: 'preseed.cfg',
    basePackages: ['openssh-server', 'curl'],
  },
  'ubuntu-24.04': {
    id: 'ubuntu',
    versionId: '24.04',
    codename: 'noble',
    format: 'cloud-init',
    kernel: 'http://releases.ubuntu.com/24.04/netboot/amd64/linux',
    initrd: 'http://releases.ubuntu.com/24.04/netboot/amd64/initrd',
    mirrorHost: '',
    mirrorDirectory: '',
    repo: '',
    iso: 'http://releases.ubuntu.com/24.04/ubuntu-24.04.3-live-server-amd64.iso',
    artifacts: ['user-data', 'meta-data', 'vendor-data', 'post-install.sh'],
    configArtifact: 'user-data',
    basePackages: ['openssh-server', 'curl'],
  },
  'rocky-9': {
    id: 'rocky',
    versionId: '9',
    codename: 'Blue Onyx',
    format: 'kickstart',
    kernel: 'http://dl.rockylinux.org/pub/rocky/9/BaseOS/x86_64/os/images/pxeboot/vmlinuz',
    initrd: 'http://dl.rockylinux.org/pub/rocky/9/BaseOS/x86_64/os/images/pxeboot/initrd.img',
    mirrorHost: '',
    mirrorDirectory: '',
    repo: 'http://dl.rockylinux.org/pub/rocky/9/BaseOS/x86_64/os/',
    iso: '',
    artifacts: ['kickstart.cfg', 'post-install.sh'],
    configArtifact: 'kickstart.cfg',
    basePackages: ['openssh-server', 'curl'],
  },
};
