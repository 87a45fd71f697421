/**
 * Every barclamp, listed explicitly (DESIGN §4): each plugin is imported from its folder and added
 * here by hand — there is no directory scanning. test/unit/plugins/indexes.test.ts checks that every
 * directory under barclamps/ appears in this list.
 */
import type { PluginManifest } from '../core/plugins/manifest';
import anneal from './anneal/manifest';
import bios from './bios/manifest';
import bmc from './bmc/manifest';
import dns from './dns/manifest';
import inventory from './inventory/manifest';
import network from './network/manifest';
import ntp from './ntp/manifest';
import provisioner from './provisioner/manifest';
import proxy from './proxy/manifest';
import raid from './raid/manifest';
import sshAccess from './ssh-access/manifest';

export const barclamps: PluginManifest[] = [
  anneal,
  provisioner,
  inventory,
  bmc,
  raid,
  bios,
  ntp,
  dns,
  proxy,
  sshAccess,
  network,
];
