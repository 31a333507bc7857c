/** Node's process.arch as the OCI/Go GOARCH names it (containerd's platforms.DefaultSpec). */
const GOARCH: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64', mips: 'mips', mipsel: 'mipsle' };

/**
 * The platform the pod runs containers on, for PlatformResponse (api types/platform.proto);
 * containerd's CRI formats it with platforms.Format to generate each container's spec
 * (internal/cri/server/container_create.go). Variant only where Go sets one by default (arm: v7).
 */
export function platform(arch: string = process.arch): { os: string; architecture: string; variant: string } {
  const architecture = GOARCH[arch] ?? arch;
  return { os: 'linux', architecture, variant: architecture === 'arm' ? 'v7' : '' };
}
