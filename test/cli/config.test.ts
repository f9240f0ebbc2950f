import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, parseStartArgs } from '../../src/cli/config.js';
import { packageRoot } from '../../src/paths.js';

const key = ['--cluster-key-file', 'k'];

function problems(argv: string[], files: Record<string, string> = {}): string[] {
  try {
    parseStartArgs(argv, (p) => {
      if (!(p in files)) throw new Error('ENOENT');
      return files[p]!;
    });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('shoal start configuration', () => {
  it('applies defaults and flags', () => {
    const c = parseStartArgs([...key, '--id', 'n1', '--port', '7500', '--seeds', 'a:1, b:2', '--sync', '--n', '5', '--w', '3']);
    expect(c).toMatchObject({ id: 'n1', host: '127.0.0.1', port: 7500, httpPort: 7480, seeds: ['a:1', 'b:2'], sync: true, n: 5, r: 2, w: 3, partitions: 256 });
    expect(c.maxHints).toBeUndefined();
    expect(parseStartArgs([...key, '--max-hints', '0']).maxHints).toBe(0);
    expect(c.hintBytesPerSec).toBeUndefined();
    expect(parseStartArgs([...key, '--hint-bytes-per-sec', '4194304']).hintBytesPerSec).toBe(4194304);
    expect(c.hintTargetDelayMs).toBeUndefined();
    expect(parseStartArgs([...key, '--hint-target-delay-ms', '0']).hintTargetDelayMs).toBe(0);
    expect(parseStartArgs([...key, '--hint-target-delay-ms', '50']).hintTargetDelayMs).toBe(50);
    expect(c.notFoundOk).toBe(false);
    expect(parseStartArgs([...key, '--notfound-ok']).notFoundOk).toBe(true);
    expect(c.readFanout).toBe('all');
    expect(c.speculativeRetry).toEqual({ kind: 'percentile', p: 99 });
    const q = parseStartArgs([...key, '--read-fanout', 'quorum', '--speculative-retry', '15ms']);
    expect(q).toMatchObject({ readFanout: 'quorum', speculativeRetry: { kind: 'fixed', ms: 15 } });
    expect(parseStartArgs([...key, '--speculative-retry', '99.9p']).speculativeRetry).toEqual({ kind: 'percentile', p: 99.9 });
    expect(parseStartArgs([...key, '--speculative-retry', 'NONE']).speculativeRetry).toEqual({ kind: 'none' });
  });

  it('reads a JSON config file with the same keys, flags winning', () => {
    const files = { 'c.json': JSON.stringify({ id: 'f', port: 7600, 'http-port': 0, seeds: ['x:1'], 'cluster-key-file': 'kk' }) };
    const c = parseStartArgs(['--config', 'c.json', '--port', '7700'], (p) => files[p as 'c.json']);
    expect(c).toMatchObject({ id: 'f', port: 7700, httpPort: 0, seeds: ['x:1'], clusterKeyFile: 'kk' });
  });

  it('reads deploy/node.example.json and node.multi-dc.example.json without a problem', () => {
    const file = join(packageRoot(), 'deploy/node.example.json');
    const c = parseStartArgs(['--config', file], (p) => readFileSync(p, 'utf8'));
    expect(c).toMatchObject({ id: 'shoal-1', readFanout: 'all', speculativeRetry: { kind: 'percentile', p: 99 }, notFoundOk: false });
    const multi = parseStartArgs(['--config', join(packageRoot(), 'deploy/node.multi-dc.example.json')], (p) => readFileSync(p, 'utf8'));
    expect(multi).toMatchObject({ dc: 'east', replication: { east: 3, west: 3 }, n: 6, quorumScope: 'local', tlsCa: '/etc/shoal/ca.pem' });
  });

  it('takes replicas per data centre, with local quorums by default', () => {
    const c = parseStartArgs([...key, '--replication', 'dc1:3,dc2:2']);
    expect(c).toMatchObject({ replication: { dc1: 3, dc2: 2 }, n: 5, quorumScope: 'local', dc: 'dc1' });
    expect(parseStartArgs([...key, '--replication', 'dc1:3,dc2:2', '--quorum-scope', 'global', '--r', '4']).quorumScope).toBe('global');
    expect(parseStartArgs([...key]).quorumScope).toBe('global');
    const fromFile = parseStartArgs(['--config', 'c.json'], () => JSON.stringify({ 'cluster-key-file': 'k', replication: { east: 2, west: 2 }, dc: 'west', n: 4 }));
    expect(fromFile).toMatchObject({ replication: { east: 2, west: 2 }, n: 4, quorumScope: 'local' });
    expect(problems([...key, '--replication', 'dc1:3', '--n', '5'])).toEqual(['--n (5) and --replication (3 replicas in all) disagree: give one of them']);
    expect(problems([...key, '--replication', 'dc1:three'])).toEqual(['--replication: "dc1:three" is not dc:count']);
    expect(problems(['--config', 'c.json'], { 'c.json': JSON.stringify({ 'cluster-key-file': 'k', replication: { dc1: 0 } }) })).toEqual([
      '--replication: replicas in dc1 must be a positive integer, got 0',
    ]);
    expect(problems([...key, '--replication', 'dc2:3'])).toEqual(["--quorum-scope local: --replication places no replicas in this node's dc (dc1)"]);
    expect(problems([...key, '--replication', 'dc1:1,dc2:3'])).toEqual([
      '--r (2) must not exceed the replicas in this dc (dc1: 1) with --quorum-scope local',
      '--w (2) must not exceed the replicas in this dc (dc1: 1) with --quorum-scope local',
    ]);
    expect(problems([...key, '--quorum-scope', 'local'])).toEqual(['--quorum-scope local needs --replication (replicas per data centre)']);
    expect(problems([...key, '--quorum-scope', 'near'])).toEqual(['--quorum-scope must be local or global, got near']);
  });

  it('takes TLS files all together or not at all', () => {
    expect(parseStartArgs([...key, '--tls-cert', 'c.pem', '--tls-key', 'k.pem', '--tls-ca', 'ca.pem'])).toMatchObject({ tlsCert: 'c.pem', tlsKey: 'k.pem', tlsCa: 'ca.pem' });
    expect(parseStartArgs([...key]).tlsCert).toBe('');
    expect(problems([...key, '--tls-cert', 'c.pem'])).toEqual(['--tls-cert, --tls-key and --tls-ca go together: give all three, or none']);
    expect(problems([...key, '--http-tls'])).toEqual(['--http-tls needs --tls-cert, --tls-key and --tls-ca (its certificate)']);
    expect(parseStartArgs([...key, '--http-tls', '--tls-cert', 'c', '--tls-key', 'k', '--tls-ca', 'a']).httpTls).toBe(true);
  });

  it('reports every problem at once, clearly', () => {
    const p = problems(['--port', '99999', '--r', '4', '--partitions', '100', '--profile', 'wan', '--id', 'bad id', '--seeds', 'nohost']);
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringContaining('--port must be from 0 (pick a free one) to 65535'),
        expect.stringContaining('--r must be from 1 to n (3)'),
        expect.stringContaining('--partitions must be a power of two'),
        expect.stringContaining('--profile must be lan or fast'),
        expect.stringContaining('--id must be'),
        expect.stringContaining('"nohost" is not host:port'),
        expect.stringContaining('--cluster-key-file is required'),
      ]),
    );
    expect(problems([...key, '--port', 'abc'])).toEqual(['--port must be a whole number, got "abc"']);
    expect(problems([...key, '--bogus'])[0]).toMatch(/bogus/);
    expect(problems([...key, 'extra'])).toEqual(['unexpected argument "extra"']);
    expect(problems(['--config', 'missing.json', ...key])[0]).toMatch(/cannot read --config missing.json/);
    expect(problems(['--config', 'c.json', ...key], { 'c.json': '{"nope": 1}' })).toEqual(['c.json: unknown key "nope"']);
    expect(problems(['--config', 'c.json', ...key], { 'c.json': '[1]' })[0]).toMatch(/JSON object/);
    expect(problems([...key, '--http-port', '7400'])).toEqual(['--http-port must differ from --port']);
    expect(problems([...key, '--max-hints=-1'])).toEqual(['--max-hints must not be negative, got -1']);
    expect(problems([...key, '--hint-bytes-per-sec', '0'])).toEqual(['--hint-bytes-per-sec must be at least 1, got 0']);
    expect(problems([...key, '--hint-target-delay-ms=-1'])).toEqual(['--hint-target-delay-ms must not be negative, got -1']);
    expect(problems([...key, '--read-fanout', 'one'])).toEqual(['--read-fanout must be all or quorum, got one']);
    for (const bad of ['100p', '0p', '0ms', '5s', 'fast', '']) {
      expect(problems([...key, '--speculative-retry', bad])).toEqual([expect.stringMatching(/^--speculative-retry: speculative retry must be a percentile like 99p/)]);
    }
    expect(problems(['--config', 'c.json', ...key], { 'c.json': '{"speculative-retry": 5}' })).toEqual(['--speculative-retry must be text like 99p, 20ms or none']);
  });
});
