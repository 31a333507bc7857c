/**
 * A reader for the YAML our deploy/ manifests are written in (no YAML library in the tree, and
 * none is worth adding for two files): documents split by `---`, block mappings and sequences
 * by indentation, `- key: value` items, `|` literal blocks, plain, 'single' and "double" quoted
 * scalars, comments. Anything else (flow collections, anchors, folded blocks, multi-line plain
 * scalars) throws, so a manifest that leaves the subset fails its test rather than parse wrongly.
 */

type Value = string | number | boolean | null | Value[] | { [k: string]: Value };

interface Line {
  indent: number;
  text: string;
  no: number;
}

function scalar(raw: string, no: number): Value {
  const s = raw.trim();
  if (s === '') return null;
  if (s.startsWith('"')) return JSON.parse(s) as string;
  if (s.startsWith("'")) {
    if (!s.endsWith("'")) throw new Error(`line ${no}: unterminated '...'`);
    return s.slice(1, -1).replace(/''/g, "'");
  }
  if (/^[[{&*!|>]/.test(s)) throw new Error(`line ${no}: ${JSON.stringify(s)} is outside the YAML subset read here`);
  if (s === 'true' || s === 'false') return s === 'true';
  if (s === 'null' || s === '~') return null;
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  return s;
}

/** The text before a comment (a `#` at the start or after a blank, outside quotes). */
function uncomment(text: string): string {
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === quote) quote = '';
    } else if (ch === '"' || ch === "'") {
      if (i === 0 || /[\s:-]/.test(text[i - 1])) quote = ch;
    } else if (ch === '#' && (i === 0 || /\s/.test(text[i - 1]))) return text.slice(0, i).trimEnd();
  }
  return text.trimEnd();
}

/** `key: rest` of a mapping line, or null. */
function keyOf(text: string): [string, string] | null {
  const m = /^("[^"]*"|'[^']*'|[^\s'"#][^:#]*?)\s*:(?:\s+(.*)|$)/.exec(text);
  return m ? [String(scalar(m[1], 0)), m[2] ?? ''] : null;
}

class Reader {
  i = 0;
  constructor(
    private readonly lines: Line[],
    private readonly raw: string[],
  ) {}

  /** The block whose lines are indented `indent`. */
  block(indent: number): Value {
    const first = this.lines[this.i];
    if (first.text.startsWith('- ') || first.text === '-') return this.sequence(indent);
    return this.mapping(indent);
  }

  private sequence(indent: number): Value[] {
    const out: Value[] = [];
    while (this.i < this.lines.length && this.lines[this.i].indent === indent && /^-( |$)/.test(this.lines[this.i].text)) {
      const line = this.lines[this.i];
      const rest = line.text.slice(1).trimStart();
      if (rest === '|' || rest === '|-') {
        out.push(this.literal(indent, line.no, rest === '|-'));
      } else if (rest === '') {
        this.i++;
        out.push(this.lines[this.i].indent > indent ? this.block(this.lines[this.i].indent) : null);
      } else if (keyOf(rest)) {
        // `- key: value` opens a mapping whose keys sit at the item's content column
        this.lines[this.i] = { ...line, indent: indent + line.text.length - rest.length, text: rest };
        out.push(this.mapping(this.lines[this.i].indent));
      } else {
        this.i++;
        out.push(scalar(rest, line.no));
      }
    }
    return out;
  }

  private mapping(indent: number): { [k: string]: Value } {
    const out: { [k: string]: Value } = {};
    while (this.i < this.lines.length && this.lines[this.i].indent === indent) {
      const line = this.lines[this.i];
      const kv = keyOf(line.text);
      if (!kv) throw new Error(`line ${line.no}: expected "key: value", got ${JSON.stringify(line.text)}`);
      const [key, rest] = kv;
      if (key in out) throw new Error(`line ${line.no}: key ${key} twice`);
      this.i++;
      if (rest === '|' || rest === '|-') out[key] = this.literal(indent, line.no, rest === '|-');
      else if (rest !== '') out[key] = scalar(rest, line.no);
      else if (this.i < this.lines.length && (this.lines[this.i].indent > indent || (this.lines[this.i].indent === indent && this.lines[this.i].text.startsWith('- ')))) out[key] = this.block(this.lines[this.i].indent);
      else out[key] = null;
    }
    if (this.i < this.lines.length && this.lines[this.i].indent > indent) throw new Error(`line ${this.lines[this.i].no}: unexpected indentation`);
    return out;
  }

  /** A `|` block: the raw lines (comments and all) indented deeper than its key. */
  private literal(keyIndent: number, keyLine: number, strip: boolean): string {
    const body: string[] = [];
    let at = keyLine; // raw index of the next line (keyLine is 1-based)
    let indent = -1;
    while (at < this.raw.length) {
      const text = this.raw[at];
      const lead = text.length - text.trimStart().length;
      if (text.trim() !== '' && lead <= keyIndent) break;
      if (text.trim() !== '' && indent < 0) indent = lead;
      body.push(text.trim() === '' ? '' : text.slice(indent));
      at++;
    }
    while (this.i < this.lines.length && this.lines[this.i].no <= at) this.i++;
    while (body.length && body[body.length - 1] === '') body.pop();
    return body.join('\n') + (strip ? '' : '\n');
  }
}

/** Every document of a YAML file. */
export function parseYamlDocuments(text: string): Value[] {
  const docs: Value[] = [];
  const raw = text.split('\n');
  let start = 0;
  for (let n = 0; n <= raw.length; n++) {
    if (n < raw.length && raw[n].trimEnd() !== '---') continue;
    const part = raw.slice(0, n).map((l, k) => (k < start ? '' : l)); // keep line numbers: blank the other documents
    const lines: Line[] = [];
    part.forEach((l, k) => {
      if (k < start || l.trim() === '' || l.trimStart().startsWith('#')) return;
      if (/\t/.test(l.slice(0, l.length - l.trimStart().length))) throw new Error(`line ${k + 1}: a tab in the indentation`);
      lines.push({ indent: l.length - l.trimStart().length, text: uncomment(l.trim()), no: k + 1 });
    });
    if (lines.length) {
      const r = new Reader(lines, part);
      docs.push(r.block(lines[0].indent));
      if (r.i !== lines.length) throw new Error(`line ${lines[r.i].no}: not read`);
    }
    start = n + 1;
  }
  return docs;
}
