// Child process for the crash test: opens a store through vite's module runner
// (Node 20 cannot run the TypeScript sources), writes keys one after another and
// prints "acked <i>" after each write resolves, until it is killed.
// argv: <package root> <store path> <sync: 0|1>
import { Buffer } from 'node:buffer';
import { createServer } from 'vite';

const [root, path, sync] = process.argv.slice(2);
const server = await createServer({
  root,
  configFile: false,
  logLevel: 'error',
  appType: 'custom',
  server: { middlewareMode: true, hmr: false, ws: false },
  optimizeDeps: { noDiscovery: true, include: [] },
});
const { Store } = await server.ssrLoadModule('/src/storage/index.ts');
const store = await Store.open({ path, sync: sync === '1', sweepIntervalMs: 0 });
await store.putMeta('node.id', Buffer.from('crash-writer'));
process.stdout.write('ready\n');
for (let i = 0; ; i++) {
  // Several writes per turn, so that batches hold more than one.
  await Promise.all([0, 1, 2, 3].map((j) => store.put(Buffer.from(`key-${i}-${j}`), Buffer.from(`value-${i}-${j}`))));
  process.stdout.write(`acked ${i}\n`);
}
