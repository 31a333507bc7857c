/**
 * A unified diff of two texts (`--dry-run`'s output): a longest common subsequence of lines,
 * hunks with 3 lines of context. Config files are small; past 2,000 lines a side, the whole
 * file is shown removed and added.
 */

type Op = [' ' | '-' | '+', string];

function lineOps(a: string[], b: string[]): Op[] {
  if (a.length > 2000 || b.length > 2000) return [...a.map((l): Op => ['-', l]), ...b.map((l): Op => ['+', l])];
  // lcs[i][j]: length of the LCS of a[i..] and b[j..]
  const lcs = Array.from({ length: a.length + 1 }, () => new Uint16Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--) for (let j = b.length - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) ops.push([' ', a[i++]]), j++;
    else if (j < b.length && (i === a.length || lcs[i][j + 1] >= lcs[i + 1][j])) ops.push(['+', b[j++]]);
    else ops.push(['-', a[i++]]);
  }
  return ops;
}

const lines = (t: string | null) => (t === null || t === '' ? [] : t.replace(/\n$/, '').split('\n'));

/** `--- a/path`, `+++ b/path` and its hunks; '' when the texts are equal. A missing file is /dev/null. */
export function unifiedDiff(file: string, before: string | null, after: string | null): string {
  if (before === after) return '';
  const ops = lineOps(lines(before), lines(after));
  const out = [`--- ${before === null ? '/dev/null' : `a${file}`}`, `+++ ${after === null ? '/dev/null' : `b${file}`}`];
  const CONTEXT = 3;
  let k = 0;
  while (k < ops.length) {
    if (ops[k][0] === ' ') {
      k++;
      continue;
    }
    // a hunk: from CONTEXT lines before this change to CONTEXT after the last change near it
    const start = Math.max(0, k - CONTEXT);
    let end = k;
    while (end < ops.length) {
      let next = end;
      while (next < ops.length && ops[next][0] === ' ') next++;
      if (next === ops.length || next - end > 2 * CONTEXT) break;
      while (next < ops.length && ops[next][0] !== ' ') next++;
      end = next;
    }
    end = Math.min(ops.length, end + CONTEXT);
    const aStart = ops.slice(0, start).filter((o) => o[0] !== '+').length;
    const bStart = ops.slice(0, start).filter((o) => o[0] !== '-').length;
    const hunk = ops.slice(start, end);
    const aLen = hunk.filter((o) => o[0] !== '+').length;
    const bLen = hunk.filter((o) => o[0] !== '-').length;
    out.push(`@@ -${aLen ? aStart + 1 : aStart},${aLen} +${bLen ? bStart + 1 : bStart},${bLen} @@`, ...hunk.map(([s, l]) => s + l));
    k = end;
  }
  return out.join('\n') + '\n';
}
