// The shoal command writing into a pipe whose reader has gone (`shoal … | head`):
// it stops quietly instead of dying of an unhandled EPIPE.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';

describe('the shoal command', () => {
  it('exits quietly when its output pipe is closed before it writes', async () => {
    const child = spawn(process.execPath, [join(packageRoot(), 'dist/src/cli/main.js'), 'help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Closed at once: Node takes tens of ms to start, so the first write meets a closed pipe.
    child.stdout!.destroy();
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(code).toBe(0);
  });
});
