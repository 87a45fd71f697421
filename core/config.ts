/**
 * Configuration from the environment, parsed once at start. Invalid values stop the process with a
 * message naming the variable and what it accepts.
 */
import path from 'node:path';
import { z } from 'zod';
import { databaseTarget, type DatabaseTarget } from './store/engine';

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /**
   * Addresses to listen on, comma-separated (e.g. `127.0.0.1,10.231.0.1`: loopback for the CLI and the lab
   * bridge for discovery and network boot). Each must exist on the host when anneal starts.
   */
  HOST: z
    .string()
    .default('127.0.0.1')
    .transform((s) => s.split(',').map((h) => h.trim()))
    .refine((hosts) => hosts.every((h) => h.length > 0), 'expected addresses separated by commas'),
  ANNEAL_DATA_DIR: z.string().default('./data'),
  DATABASE_URL: z.string().optional(),
  ANNEAL_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ANNEAL_ANNEALER: z.enum(['on', 'off']).default('on'),
  ANNEAL_MAX_CONCURRENT: z.coerce.number().int().min(1).max(10_000).default(64),
  ANNEAL_LEASE_MS: z.coerce.number().int().min(500).default(30_000),
  /** Runs of a node-role (the first included) before an operational error (unreachable, timeout) is final. */
  ANNEAL_RETRY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
  /** First retry delay; each next one doubles (with jitter in [d/2, d]) up to ANNEAL_RETRY_MAX_MS. */
  ANNEAL_RETRY_BASE_MS: z.coerce.number().int().min(1).max(3_600_000).default(1_000),
  ANNEAL_RETRY_MAX_MS: z.coerce.number().int().min(1).max(86_400_000).default(60_000),
  /** TCP connect + SSH handshake + authentication to a node; a node that does not answer fails after it. */
  ANNEAL_SSH_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  /** Private key file the ssh jig uses to reach nodes; without it, ssh roles fail with ERR_JIG_UNKNOWN. */
  ANNEAL_SSH_KEY: z.string().optional(),
  ANNEAL_SSH_USER: z.string().default('root'),
  /** How often the power monitor reads every BMC and probes every node's SSH port; 0 turns it off. */
  ANNEAL_POWER_POLL_MS: z.coerce.number().int().min(0).max(86_400_000).default(15_000),
  /** Minimum time between the starts of two calls to the same BMC (the per-BMC rate limit). */
  ANNEAL_BMC_MIN_INTERVAL_MS: z.coerce.number().int().min(0).max(60_000).default(250),
  /**
   * The base URL booting machines reach anneal at (iPXE scripts, install configs, the install-complete
   * callback), e.g. `http://10.231.0.1:3000`. Default: http://<first HOST that is not loopback, else the
   * first>:<PORT>.
   */
  ANNEAL_PROVISIONER_URL: z
    .string()
    .regex(/^https?:\/\/[A-Za-z0-9.:[\]-]+(?::\d{1,5})?\/?$/, 'expected http(s)://<host>[:<port>] without a path')
    .optional(),
  /** `https` for real BMCs; `http` for the lab's Redfish emulator. */
  ANNEAL_REDFISH_PROTOCOL: z.enum(['https', 'http']).default('https'),
  /** Accept the self-signed certificates most BMCs ship with (1) or verify them (0, default). */
  ANNEAL_REDFISH_INSECURE: z.enum(['0', '1']).default('0'),
  /**
   * The first admin token's secret, used only when the database has no token yet (first start): for
   * automation that must know it in advance. Without it, first start generates one and prints it once.
   */
  ANNEAL_ADMIN_TOKEN: z
    .string()
    .regex(/^[A-Za-z0-9._~+/=-]{32,256}$/, 'expected 32 to 256 characters of letters, digits and . _ ~ + / = -')
    .optional(),
  /** Comma-separated fixture plugins to load in addition to the shipped ones (tests, demos): `test`. */
  ANNEAL_FIXTURES: z.string().default(''),
});

export interface Config {
  port: number;
  /** Every address the API listens on (at least one). */
  hosts: string[];
  dataDir: string;
  database: DatabaseTarget;
  logLevel: string;
  annealer: boolean;
  maxConcurrent: number;
  leaseMs: number;
  /** The annealer's retry policy for operational errors (core/annealer/outcome.ts). */
  retry: { maxAttempts: number; baseMs: number; maxMs: number };
  sshConnectTimeoutMs: number;
  fixtures: string[];
  /** Base URL machines use for network boot (no trailing slash). */
  provisionerUrl: string;
  powerPollMs: number;
  bmcMinIntervalMs: number;
  /** How the redfish power driver talks to BMCs. */
  redfish: { protocol: 'http' | 'https'; acceptSelfSignedCertificates: boolean };
  ssh: { keyFile: string; user: string } | null;
  /** ANNEAL_ADMIN_TOKEN (a secret: never log the config object whole). */
  adminToken: string | null;
}

function defaultProvisionerUrl(hosts: string[], port: number): string {
  const host = hosts.find((h) => !/^(127\.|localhost$|::1$)/.test(h)) ?? hosts[0] ?? '127.0.0.1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid configuration: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  if (e.ANNEAL_RETRY_BASE_MS > e.ANNEAL_RETRY_MAX_MS) {
    throw new Error(
      `invalid configuration: ANNEAL_RETRY_BASE_MS (${e.ANNEAL_RETRY_BASE_MS}) must not exceed ANNEAL_RETRY_MAX_MS (${e.ANNEAL_RETRY_MAX_MS})`,
    );
  }
  const dataDir = path.resolve(e.ANNEAL_DATA_DIR);
  return {
    port: e.PORT,
    hosts: e.HOST,
    dataDir,
    database: databaseTarget(e.DATABASE_URL, dataDir),
    logLevel: e.ANNEAL_LOG_LEVEL,
    annealer: e.ANNEAL_ANNEALER === 'on',
    maxConcurrent: e.ANNEAL_MAX_CONCURRENT,
    leaseMs: e.ANNEAL_LEASE_MS,
    retry: { maxAttempts: e.ANNEAL_RETRY_MAX_ATTEMPTS, baseMs: e.ANNEAL_RETRY_BASE_MS, maxMs: e.ANNEAL_RETRY_MAX_MS },
    sshConnectTimeoutMs: e.ANNEAL_SSH_CONNECT_TIMEOUT_MS,
    powerPollMs: e.ANNEAL_POWER_POLL_MS,
    bmcMinIntervalMs: e.ANNEAL_BMC_MIN_INTERVAL_MS,
    redfish: { protocol: e.ANNEAL_REDFISH_PROTOCOL, acceptSelfSignedCertificates: e.ANNEAL_REDFISH_INSECURE === '1' },
    provisionerUrl: (e.ANNEAL_PROVISIONER_URL ?? defaultProvisionerUrl(e.HOST, e.PORT)).replace(/\/$/, ''),
    adminToken: e.ANNEAL_ADMIN_TOKEN ?? null,
    ssh: e.ANNEAL_SSH_KEY ? { keyFile: path.resolve(e.ANNEAL_SSH_KEY), user: e.ANNEAL_SSH_USER } : null,
    fixtures: e.ANNEAL_FIXTURES.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  };
}
