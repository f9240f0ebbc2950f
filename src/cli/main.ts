#!/usr/bin/env node
// The `shoal` command.
import { randomBytes } from 'node:crypto';

const USAGE = `Usage: shoal <command> [options]

Commands:
  start       run a node (shoal start --help for its options)
  admin       join, leave, remove: change the cluster's membership (shoal admin --help)
  status      a node's view of the cluster, transfers and anti-entropy
  demo        start a local 3-node cluster and run a short demo (what npm start does)
  keygen      print a new random cluster key (hex)
  token       print a client token for an application (shoal token --help)
  version     print the version
  help        print this help
`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'start': {
      // Loaded on demand, so that the light commands (admin, status) start fast.
      const { runStart } = await import('./start.js');
      return runStart(rest);
    }
    case 'admin': {
      const { runAdmin } = await import('./admin.js');
      return runAdmin(rest);
    }
    case 'status': {
      const { runStatus } = await import('./admin.js');
      return runStatus(rest);
    }
    case 'demo': {
      const { runDemo } = await import('./demo.js');
      return runDemo(rest);
    }
    case 'token': {
      const { runToken } = await import('./token.js');
      return runToken(rest);
    }
    case 'keygen':
      process.stdout.write(randomBytes(32).toString('hex') + '\n');
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    case 'version':
    case '--version':
      process.stdout.write('shoal 0.1.0\n');
      return 0;
    default:
      process.stderr.write(`shoal: unknown command "${cmd}"\n\n${USAGE}`);
      return 2;
  }
}

// Output piped into a reader that stops early (`shoal status | head`): stop quietly,
// as other command-line tools do, instead of dying of an unhandled EPIPE.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(process.exitCode ?? 0);
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`shoal: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
