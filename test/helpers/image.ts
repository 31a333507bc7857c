import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import path from 'node:path';
import { busyboxRootfs } from './rootfs';
import type { Containerd } from './containerd';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * An OCI image layout of the busybox rootfs, as a tar ctr can import: one gzip layer, a config
 * whose diff_ids name the layer's uncompressed digest, a manifest, an index naming `ref`.
 */
export function buildBusyboxImage(dir: string, ref = 'docker.io/library/rxtest:latest', cmd = ['/bin/sh']): string {
  const rootfs = busyboxRootfs(path.join(dir, 'image-rootfs'));
  const layout = path.join(dir, 'layout');
  const blobs = path.join(layout, 'blobs/sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (b: Buffer) => {
    const d = sha(b);
    writeFileSync(path.join(blobs, d), b);
    return { digest: `sha256:${d}`, size: b.length };
  };
  const layerGz = execFileSync('tar', ['-C', rootfs, '--numeric-owner', '--owner=0', '--group=0', '-czf', '-', '.'], { maxBuffer: 64 << 20 });
  const layer = put(layerGz);
  const config = put(
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Cmd: cmd, Env: ['PATH=/bin'] },
        rootfs: { type: 'layers', diff_ids: [`sha256:${sha(gunzipSync(layerGz))}`] },
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
          platform: { architecture: 'amd64', os: 'linux' },
          annotations: { 'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': ref.split(':').pop() },
        },
      ],
    }),
  );
  const tarPath = path.join(dir, 'image.tar');
  execFileSync('tar', ['-C', layout, '-cf', tarPath, '.']);
  rmSync(rootfs, { recursive: true, force: true });
  return tarPath;
}

export async function importImage(ctd: Containerd, tarPath: string, namespace = 'default'): Promise<void> {
  const r = await ctd.ctr(['images', 'import', tarPath], { namespace, timeoutMs: 120000 });
  if (r.code !== 0) throw new Error(`ctr images import failed: ${r.stderr}`);
}
