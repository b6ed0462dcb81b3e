import { type Config, ConfigError, loadConfig, readEnvironment } from '../core/config.js';

/**
 * The configuration for a command-line entry point, or `null` after printing every problem to stderr
 * (the caller exits 1).
 */
export function configOrExplain(
  options?: Parameters<typeof loadConfig>[1] & { overrides?: Record<string, string> },
): Config | null {
  try {
    return loadConfig({ ...readEnvironment(), ...options?.overrides }, options);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`creditwatch: ${err.message}`);
      return null;
    }
    throw err;
  }
}

/** Runs a CLI's `main`, turning its result into the exit code and an unexpected error into one line and exit 1. */
export function runCli(main: () => Promise<number>, failure: string): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(`creditwatch: ${failure}: ${(err as Error).message}`);
      process.exitCode = 1;
    },
  );
}
