/** What a command body produced, so it can be tested without a process. */
export interface CommandOutput {
  stdout: string;
  stderr: string;
  exitCode: number;
}
