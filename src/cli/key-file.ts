// The cluster key file: one key per line (hex or base64), the first one primary,
// blank lines and # comments ignored.
import { readFileSync } from 'node:fs';
import { parseKey } from '../transport/index.js';
import { ConfigError } from './config.js';

/** The keys of a key file, primary first; ConfigError naming the problem otherwise. */
export function readKeyFile(path: string): Buffer[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read --cluster-key-file ${path}: ${(err as Error).message}`]);
  }
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length === 0) throw new ConfigError([`--cluster-key-file ${path} holds no key`]);
  try {
    return lines.map(parseKey);
  } catch (err) {
    throw new ConfigError([`--cluster-key-file ${path}: ${(err as Error).message}`]);
  }
}
