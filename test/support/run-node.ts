import { execFile } from 'node:child_process';

/** What a finished child process left behind. */
export interface NodeRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a compiled entry point as its own Node process, exactly as npm would, with a clean environment:
 * only PATH from outside plus `env`, so a developer's own settings can't leak into a test. `env.HOME` is
 * the working directory; the settings file is `$HOME/.env` unless `env.ENV_FILE` says otherwise, so the
 * project's own `.env` (read whatever the working directory) stays out of tests too.
 */
export function runNode(
  file: string,
  env: Record<string, string>,
  args: readonly string[] = [],
): Promise<NodeRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [file, ...args],
      {
        env: { PATH: process.env.PATH ?? '', ENV_FILE: `${env.HOME ?? '.'}/.env`, ...env },
        cwd: env.HOME,
        timeout: 30_000,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
