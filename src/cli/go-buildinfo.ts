/**
 * The module information the Go linker writes into every Go executable, read from the file
 * without running it: `start` learns which containerd generation execed it from containerd's
 * own binary (-publish-binary) in a few small reads, where `containerd --version` cost a process.
 * Format: go/src/debug/buildinfo/buildinfo.go (section ".go.buildinfo": a 32-byte header,
 * "\xff Go buildinf:", pointer size, flags; since Go 1.18 (flag 2) the Go version and the module
 * info follow inline, each an unsigned varint length and its bytes; the module info is framed by
 * 16 sentinel bytes on each side) and runtime/debug.BuildInfo.String (lines "path\t<package>",
 * "mod\t<module>\t<version>", "dep\t<module>\t<version>"). ELF64 little-endian only (x64, arm64).
 */
import { closeSync, openSync, readSync } from 'node:fs';

const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const FLAG_VERSION_INLINE = 2;

/** The module info text of a Go ELF executable, or null (not ELF64 LE, no section, pre-1.18 layout, unreadable). */
export function goModInfo(file: string): string | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const read = (pos: number, len: number): Buffer => {
      const b = Buffer.alloc(len);
      return b.subarray(0, readSync(fd, b, 0, len, pos));
    };
    const eh = read(0, 64);
    // \x7fELF, class 2 (64-bit), data 1 (little-endian)
    if (eh.length < 64 || eh.readUInt32BE(0) !== 0x7f454c46 || eh[4] !== 2 || eh[5] !== 1) return null;
    const shoff = Number(eh.readBigUInt64LE(0x28));
    const shentsize = eh.readUInt16LE(0x3a);
    const shnum = eh.readUInt16LE(0x3c);
    const shstrndx = eh.readUInt16LE(0x3e);
    if (shoff === 0 || shentsize < 64 || shnum === 0 || shstrndx >= shnum) return null;
    const sh = read(shoff, shentsize * shnum);
    if (sh.length < shentsize * shnum) return null;
    // Elf64_Shdr: sh_name at 0, sh_offset at 0x18, sh_size at 0x20
    const section = (i: number) => ({ name: sh.readUInt32LE(i * shentsize), offset: Number(sh.readBigUInt64LE(i * shentsize + 0x18)), size: Number(sh.readBigUInt64LE(i * shentsize + 0x20)) });
    const strtab = section(shstrndx);
    const names = read(strtab.offset, Math.min(strtab.size, 1 << 16));
    for (let i = 0; i < shnum; i++) {
      const s = section(i);
      const end = names.indexOf(0, s.name);
      if (end < 0 || names.toString('latin1', s.name, end) !== '.go.buildinfo') continue;
      return parseBuildInfo(read(s.offset, Math.min(s.size, 1 << 20)));
    }
    return null;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** The module info of a ".go.buildinfo" section's bytes (inline layout), or null. */
export function parseBuildInfo(data: Buffer): string | null {
  if (data.length < 32 || !data.subarray(0, MAGIC.length).equals(MAGIC) || (data[15] & FLAG_VERSION_INLINE) === 0) return null;
  let pos = 32;
  const chunk = (): Buffer | null => {
    let len = 0;
    for (let shift = 0; pos < data.length && shift < 35; shift += 7) {
      const b = data[pos++];
      len += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return pos + len <= data.length ? data.subarray(pos, (pos += len)) : null;
    }
    return null;
  };
  if (!chunk()) return null; // the Go version
  const mod = chunk();
  if (!mod) return null;
  // debug/buildinfo: the sentinels are there when the text ends in "\n" before the last 16 bytes.
  const text = mod.length >= 33 && mod[mod.length - 17] === 0x0a ? mod.subarray(16, mod.length - 16) : mod;
  return text.toString('utf8');
}

/**
 * The containerd major version a Go module info says the binary is: its main package in
 * github.com/containerd/containerd (1) or .../v2 (2), or, for a binary that embeds containerd (k3s
 * and the like), the containerd module among its dependencies. Null when it names none.
 */
export function containerdMajor(modInfo: string): number | null {
  const lines = modInfo.split('\n').map((l) => l.split('\t'));
  const major = (m: RegExpExecArray | null) => (m ? (m[1] ? Number(m[1]) : 1) : null);
  const main = lines.find((l) => l[0] === 'path');
  const fromMain = major(/^github\.com\/containerd\/containerd(?:\/v(\d+))?(?:\/|$)/.exec(main?.[1] ?? ''));
  if (fromMain !== null) return fromMain;
  for (const l of lines) {
    if (l[0] !== 'mod' && l[0] !== 'dep') continue;
    const m = major(/^github\.com\/containerd\/containerd(?:\/v(\d+))?$/.exec(l[1] ?? ''));
    if (m !== null) return m;
  }
  return null;
}
