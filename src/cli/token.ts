// `shoal token <name>`: prints a client token for applications (docs/operations.md,
// "Client tokens"), derived from the primary key of the cluster key file.
import { parseArgs } from 'node:util';
import { CLIENT_NAME, clientKey, formatToken } from '../transport/index.js';
import { ConfigError } from './config.js';
import { readKeyFile } from './key-file.js';

export const TOKEN_USAGE = `Usage: shoal token <name> --cluster-key-file FILE

Prints a client token (name:key) for an application: with it the SDK can get,
put and delete keys and read the ring, and nothing else. The name (1 to 64
letters, digits, _ or -) is what nodes count it by and revoke it by
(shoal start --revoked-clients NAME,...). Anyone holding the cluster key file can
make tokens; the token does not reveal the key.
`;

type Out = (line: string) => void;

export function runToken(argv: string[], out: Out = (l) => process.stdout.write(l + '\n'), err: Out = (l) => process.stderr.write(l + '\n')): number {
  let parsed: { values: { 'cluster-key-file'?: string; help?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: { 'cluster-key-file': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    err(`shoal token: ${(e as Error).message}\n\n${TOKEN_USAGE}`);
    return 2;
  }
  if (parsed.values.help === true) {
    out(TOKEN_USAGE);
    return 0;
  }
  const [name, ...extra] = parsed.positionals;
  const file = parsed.values['cluster-key-file'];
  const problems: string[] = [];
  if (name === undefined || !CLIENT_NAME.test(name)) problems.push(`the name must be 1 to 64 letters, digits, _ or -, got "${name ?? ''}"`);
  if (extra.length > 0) problems.push(`unexpected argument "${extra[0]}"`);
  if (file === undefined) problems.push('--cluster-key-file is required');
  let primary: Buffer | undefined;
  if (file !== undefined) {
    try {
      primary = readKeyFile(file)[0];
    } catch (e) {
      problems.push(...(e instanceof ConfigError ? e.problems : [(e as Error).message]));
    }
  }
  if (problems.length > 0 || primary === undefined) {
    err(`shoal token: ${problems.join('; ')}\n\n${TOKEN_USAGE}`);
    return 2;
  }
  out(formatToken(name!, clientKey(primary, name!)));
  return 0;
}
