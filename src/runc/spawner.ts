import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';

/** How the driver starts a command; injected so tests can run /bin/true or a fake runc. */
export type Spawner = (file: string, args: string[], opts: { stdio: StdioOptions; env?: NodeJS.ProcessEnv; cwd?: string }) => ChildProcess;

export const defaultSpawner: Spawner = (file, args, opts) => spawn(file, args, opts);
