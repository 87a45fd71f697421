/**
 * Reads all of stdin (for secrets passed with `--password-stdin` or `attribs set … -`: never argv, which
 * every user on the host sees in `ps`). Resolves with the text as read; the caller trims what it must.
 */
export async function readStdin(stream: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString('utf8');
}
