import { describeThread, readThread } from '../util/thread-state.mjs';

export interface StuckGateway {
  /** What the gateway's main thread is doing, as one phrase ("its main thread waits in the kernel, …"). */
  summary: string;
  /**
   * It cannot answer until something outside it changes: its main thread waits on a disk, or
   * is stopped. Otherwise (running on a CPU, sleeping in a call) it may only be slow.
   */
  stuck: boolean;
  /** Commands that act on that cause, each with a comment. */
  commands: string[];
  /** Why the runbook's restart will or will not help now. */
  restart: string;
}

/** Event-loop polls: a main thread found in one is idle, serving whatever comes (only slow to answer). */
const POLLS = new Set(['epoll_wait', 'epoll_pwait', 'epoll_pwait2', 'poll', 'ppoll']);

/**
 * Why a gateway process that is alive does not answer, read from /proc on this host: its main
 * thread (the event loop) waiting on a disk that has stopped answering, stopped by a signal or
 * a debugger, or busy on a CPU. Undefined when /proc does not show the process, or when its
 * loop is idle in its poll (it is answering, just not this request in time).
 */
export function stuckGateway(pid: number): StuckGateway | undefined {
  const t = readThread(pid);
  if (!t || (t.state === 'S' && t.syscall !== undefined && POLLS.has(t.syscall))) return undefined;
  const summary = `its main thread ${describeThread(t)}`;
  if (t.state === 'D') {
    const mount = t.mount;
    return {
      summary,
      stuck: true,
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
        'a restart may not end it before the disk answers: a process waiting on a disk can ignore every signal, SIGKILL too; bring the disk back and the gateway goes on by itself, with nothing acknowledged lost',
    };
  }
  if (t.state === 'T') {
    return {
      summary,
      stuck: true,
      commands: [`kill -CONT ${pid}    # lets it run again`],
      restart: 'a restart is not needed: it answers again once it runs',
    };
  }
  if (t.state === 't') {
    return {
      summary,
      stuck: true,
      commands: [`grep TracerPid /proc/${pid}/status    # the debugger holding it`],
      restart: 'a restart is not needed: it answers again once the debugger lets it go',
    };
  }
  return {
    summary,
    stuck: false,
    commands: [],
    restart: 'if it stays so, restart it and keep its log lines (the watchdog says what it waited in)',
  };
}
