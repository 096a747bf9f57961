import { describeThread, readThread } from '../util/thread-state.mjs';

export interface StuckGateway {
  /** What the gateway's main thread is doing, as one phrase ("waits in the kernel, …"). */
  summary: string;
  /** Commands that act on that cause, each with a comment. */
  commands: string[];
  /** Why the runbook's restart will or will not help now. */
  restart: string;
}

/**
 * Why a gateway process that is alive does not answer, read from /proc on this host: its main
 * thread (the event loop) waiting on a disk that has stopped answering, stopped by a signal or
 * a debugger, or busy on a CPU. Undefined when /proc does not show the process.
 */
export function stuckGateway(pid: number): StuckGateway | undefined {
  const t = readThread(pid);
  if (!t) return undefined;
  const summary = `its main thread ${describeThread(t)}`;
  if (t.state === 'D') {
    const mount = t.mount;
    return {
      summary,
      commands: [
        'dmesg | tail -20    # what the kernel says of the disk (I/O errors, a hung task, a lost server)',
        ...(mount
          ? [
              `findmnt ${mount.mountPoint}    # the file system: ${mount.type} on ${mount.source}`,
              `fsfreeze --unfreeze ${mount.mountPoint}    # only if it was frozen (a snapshot tool left it so)`,
            ]
          : []),
      ],
      restart:
        'a restart cannot end it before the disk answers: a process waiting on a disk ignores every signal, SIGKILL too; bring the disk back and the gateway goes on by itself, with nothing acknowledged lost',
    };
  }
  if (t.state === 'T' || t.state === 't') {
    return {
      summary,
      commands: [`kill -CONT ${pid}    # lets it run again`],
      restart: 'a restart is not needed: it answers again once it runs',
    };
  }
  return {
    summary,
    commands: [],
    restart: 'if it stays so, restart it and keep its log lines (the watchdog says what it waited in)',
  };
}
