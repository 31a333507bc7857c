import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { busyboxRootfs } from './rootfs';
import type { Containerd } from './containerd';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** OCI architecture names (image-spec config.md: GOARCH values). */
const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
export const IMAGE_ARCH = ARCH[process.arch] ?? process.arch;

/**
 * An OCI image layout of the busybox rootfs, tarred for `ctr images import`: one gzip layer, a
 * config whose rootfs.diff_ids name the layer's uncompressed digest and whose Cmd is `cmd`, a
 * manifest, and an index naming `ref`. Returns the tar's path (under `dir`).
 */
export function buildBusyboxImage(dir: string, ref = 'docker.io/library/rxtest:latest', cmd = ['/bin/sh']): string {
  const rootfs = busyboxRootfs(path.join(dir, 'image-rootfs'));
  const layout = path.join(dir, 'layout');
  const blobs = path.join(layout, 'blobs/sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (b: Buffer) => {
    const d = sha256(b);
    writeFileSync(path.join(blobs, d), b);
    return { digest: `sha256:${d}`, size: b.length };
  };
  // Debian's tar writes the layer (symlinks included); owners as root whatever the files' are.
  const layerTar = execFileSync('tar', ['-C', rootfs, '--numeric-owner', '--owner=0', '--group=0', '-cf', '-', '.'], { maxBuffer: 256 << 20 });
  const layer = put(gzipSync(layerTar));
  const config = put(
    Buffer.from(
      JSON.stringify({
        architecture: IMAGE_ARCH,
        os: 'linux',
        config: { Cmd: cmd, Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], WorkingDir: '/' },
        rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(layerTar)}`] },
        history: [{ created_by: 'containerd-shim-rx test harness' }],
      }),
    ),
  );
  const manifest = put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
      }),
    ),
  );
  writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    path.join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          platform: { architecture: IMAGE_ARCH, os: 'linux' },
          // ctr 1.6 names the image from io.containerd.image.name; with only the OCI ref.name
          // ("latest") it would name it import-<date>:latest (images/archive/importer.go).
          annotations: { 'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': ref.slice(ref.lastIndexOf(':') + 1) },
        },
      ],
    }),
  );
  const tarPath = path.join(dir, 'image.tar');
  execFileSync('tar', ['-C', layout, '-cf', tarPath, '.']);
  rmSync(rootfs, { recursive: true, force: true });
  rmSync(layout, { recursive: true, force: true });
  return tarPath;
}

/**
 * `ctr images import` (which in 1.6 also unpacks into the default snapshotter, overlayfs, unless
 * --no-unpack), then checks the image is listed.
 */
export async function importImage(ctd: Containerd, tarPath: string, namespace = 'default'): Promise<void> {
  const r = await ctd.ctr(['images', 'import', tarPath], { namespace, timeoutMs: 120000 });
  if (r.code !== 0) throw new Error(`ctr images import ${tarPath} failed (${r.code}): ${r.stderr}`);
  const ls = await ctd.ctr(['images', 'ls', '-q'], { namespace });
  if (!ls.stdout.toString().trim()) throw new Error(`ctr images import printed ${r.stdout} but no image is listed`);
}
