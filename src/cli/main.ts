#!/usr/bin/env node
// The `shoal` command. Subcommands arrive with the issues that build them.
const USAGE = `Usage: shoal <command> [options]

Commands:
  version     print the version
  help        print this help

Shoal is under construction: see README.md for what works today.
`;

function main(argv: string[]): number {
  const [cmd] = argv;
  switch (cmd) {
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

process.exitCode = main(process.argv.slice(2));
