// `shoal start`: runs one node in the foreground until SIGTERM/SIGINT.
import { readFileSync } from 'node:fs';
import { createLogger } from '../log.js';
import { ShoalNode } from '../node.js';
import { ShoalError } from '../errors.js';
import { Keyring, type NodeTls } from '../transport/index.js';
import { readKeyFile } from './key-file.js';
import { createSecureContext } from 'node:tls';
import { DC_RTT_ENV, dcDelayFilter, dcRttFromEnv } from './dc-delay.js';
import { ConfigError, START_USAGE, parseStartArgs, type StartConfig } from './config.js';

/** Exit codes: 0 clean stop, 1 runtime failure, 2 invalid configuration. */
export async function runStart(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(START_USAGE);
    return 0;
  }
  let cfg: StartConfig;
  let keyring: Keyring;
  let tls: NodeTls | undefined;
  let dcRtt = 0;
  try {
    cfg = parseStartArgs(argv);
    const keys = readKeyFile(cfg.clusterKeyFile);
    // The first key seals; any further keys are also accepted (rotation).
    keyring = new Keyring(keys[0]!, keys.slice(1));
    tls = readTls(cfg);
    dcRtt = dcRttFromEnv(process.env);
  } catch (err) {
    const problems = err instanceof ConfigError ? err.problems : [(err as Error).message];
    process.stderr.write(`shoal start: invalid configuration\n${problems.map((p) => `  - ${p}`).join('\n')}\n\n${START_USAGE}`);
    return 2;
  }
  const log = createLogger(cfg.logLevel);
  let node: ShoalNode | undefined;
  const dcDelay = dcRtt > 0 ? dcDelayFilter(dcRtt, () => node) : undefined;
  if (dcDelay !== undefined) log.warn(`${DC_RTT_ENV} is set: traffic with other dcs is delayed (a test setting)`, { rttMs: dcRtt });
  let departed: () => void = () => undefined;
  const left = new Promise<void>((resolve) => (departed = resolve));
  const antiEntropy = {
    ...(cfg.aeIntervalMs !== undefined ? { intervalMs: cfg.aeIntervalMs } : {}),
    ...(cfg.aePartitionsPerRound !== undefined ? { partitionsPerRound: cfg.aePartitionsPerRound } : {}),
    ...(cfg.aeBytesPerSec !== undefined ? { bytesPerSec: cfg.aeBytesPerSec } : {}),
    ...(cfg.transferBytesPerSec !== undefined ? { transferBytesPerSec: cfg.transferBytesPerSec } : {}),
    ...(cfg.handoverGraceMs !== undefined ? { handoverGraceMs: cfg.handoverGraceMs } : {}),
  };
  try {
    node = await ShoalNode.start({
      ...(cfg.id !== undefined ? { id: cfg.id } : {}),
      host: cfg.host,
      port: cfg.port,
      ...(cfg.httpPort > 0 ? { httpPort: cfg.httpPort } : {}),
      dataDir: cfg.data,
      seeds: cfg.seeds,
      dc: cfg.dc,
      rack: cfg.rack,
      capacity: cfg.capacity,
      n: cfg.n,
      ...(cfg.replication !== undefined ? { replication: cfg.replication } : {}),
      quorumScope: cfg.quorumScope,
      r: cfg.r,
      w: cfg.w,
      partitions: cfg.partitions,
      keyring,
      ...(tls ? { tls } : {}),
      profile: cfg.profile,
      sync: cfg.sync,
      maxKeyBytes: cfg.maxKeyBytes,
      maxValueBytes: cfg.maxValueBytes,
      join: !cfg.noJoin,
      ...(cfg.hintMaxAgeMs !== undefined ? { hintMaxAgeMs: cfg.hintMaxAgeMs } : {}),
      ...(cfg.maxHints !== undefined ? { maxHints: cfg.maxHints } : {}),
      ...(cfg.hintBytesPerSec !== undefined ? { hintBytesPerSec: cfg.hintBytesPerSec } : {}),
      ...(cfg.hintTargetDelayMs !== undefined ? { hintTargetDelayMs: cfg.hintTargetDelayMs } : {}),
      notFoundOk: cfg.notFoundOk,
      ...(cfg.revokedClients.length > 0 ? { revokedClients: new Set(cfg.revokedClients) } : {}),
      httpAuth: cfg.httpAuth,
      httpTls: cfg.httpTls,
      readFanout: cfg.readFanout,
      speculativeRetry: cfg.speculativeRetry,
      antiEntropy,
      onLeft: () => departed(),
      log,
      ...(dcDelay !== undefined ? { udpFilter: dcDelay, rpcFilter: dcDelay } : {}),
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (err instanceof ShoalError || code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      process.stderr.write(`shoal start: ${(err as Error).message}\n`);
      return 2;
    }
    log.error('failed to start', { err });
    return 1;
  }
  // Ready line for scripts and tests: one JSON object on stdout.
  process.stdout.write(JSON.stringify({ ready: true, id: node.id, port: node.port, httpPort: node.http?.port ?? 0 }) + '\n');
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info('stopping', { signal });
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    // After `shoal admin leave` has moved its partitions away, the node is done.
    void left.then(() => stop('left the cluster'));
  });
  await node.stop();
  return 0;
}

/** The TLS files, checked by making a context of them (a key that is not the certificate's, bad PEM); undefined without TLS. */
function readTls(cfg: StartConfig): NodeTls | undefined {
  if (cfg.tlsCert === '') return undefined;
  const read = (flag: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError([`cannot read --${flag} ${path}: ${(err as Error).message}`]);
    }
  };
  const tls = { cert: read('tls-cert', cfg.tlsCert), key: read('tls-key', cfg.tlsKey), ca: read('tls-ca', cfg.tlsCa) };
  try {
    createSecureContext(tls);
  } catch (err) {
    throw new ConfigError([`--tls-cert / --tls-key / --tls-ca: ${(err as Error).message}`]);
  }
  return tls;
}
