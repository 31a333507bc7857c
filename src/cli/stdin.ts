/**
 * Read stdin to its end: containerd writes `start`'s bootstrap input and `-info`'s options there,
 * or gives /dev/null or an empty pipe. A terminal (someone trying `-info` by hand) is no input.
 */
export async function readStdin(): Promise<Buffer> {
  if (process.stdin.isTTY) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  } catch {
    // no stdin
  }
  return Buffer.concat(chunks);
}
