import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ControlPlane, openControlPlane } from '../../src/control/index.ts';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../../../..');

export function tempDir(prefix = 'cfs-control-'): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A control plane on a fresh state folder, removed again by `done()`. */
export async function freshControlPlane(): Promise<{
  cp: ControlPlane;
  stateDir: string;
  done(): Promise<void>;
}> {
  const tmp = tempDir();
  const stateDir = join(tmp.dir, 'state');
  const cp = await openControlPlane({ stateDir });
  return {
    cp,
    stateDir,
    async done() {
      await cp.close();
      tmp[Symbol.dispose]();
    },
  };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runNode(args: string[], cwd = repoRoot): Promise<RunResult> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', fail);
    child.on('close', (code) => ok({ code, stdout, stderr }));
  });
}
