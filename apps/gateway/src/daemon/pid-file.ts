import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeDirs } from '../util/make-dirs.ts';
import { StartError } from './start-error.ts';

export function pidFilePath(stateDir: string): string {
  return join(stateDir, 'gateway.pid');
}

/** The PID of a live gateway holding the state folder, or undefined. */
export function runningGatewayPid(stateDir: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFilePath(stateDir), 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}

/** Claims the state folder for this process; refuses when another live gateway holds it. */
export function claimPidFile(stateDir: string): () => void {
  const other = runningGatewayPid(stateDir);
  if (other !== undefined && other !== process.pid) {
    throw new StartError(`another gateway (PID ${other}) is running on state folder ${stateDir}`);
  }
  makeDirs(stateDir, 0o700);
  const path = pidFilePath(stateDir);
  writeFileSync(path, `${process.pid}\n`);
  return () => {
    if (runningGatewayPid(stateDir) === process.pid) rmSync(path, { force: true });
  };
}
