/**
 * libc through koffi, loaded on first use: paths that never make a Linux call Node lacks
 * (`-v`, `start`) never pay koffi's ~10 ms.
 */
import { constants } from 'node:os';

type Koffi = typeof import('koffi');

let k: Koffi | undefined;
let lib: ReturnType<Koffi['load']> | undefined;
const fns = new Map<string, (...args: any[]) => any>();

export function koffi(): Koffi {
  k ??= require('koffi') as Koffi;
  return k;
}

/** A libc function by its C prototype, declared once. */
export function fn(prototype: string): (...args: any[]) => any {
  let f = fns.get(prototype);
  if (!f) {
    lib ??= koffi().load('libc.so.6');
    f = lib.func(prototype) as (...args: any[]) => any;
    fns.set(prototype, f);
  }
  return f;
}

export const errno = (): number => koffi().errno();

const names = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n as number, name]));

export class SysError extends Error {
  readonly code: string;
  constructor(readonly syscall: string, readonly errno: number, detail = '') {
    const code = names.get(errno) ?? `errno ${errno}`;
    super(`${syscall}${detail ? ' ' + detail : ''}: ${code}`);
    this.name = 'SysError';
    this.code = code;
  }
}

/** Call, and on -1 throw a SysError with errno read right after the call. */
export function check(syscall: string, result: number, detail = ''): number {
  if (result === -1) throw new SysError(syscall, errno(), detail);
  return result;
}
