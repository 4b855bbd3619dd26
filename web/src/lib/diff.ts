// Unified diffs: a file change's hunks (`@@ … @@` + ` `/`-`/`+` lines) or a turn's whole
// `git diff` (several files), parsed for the unified and side-by-side views.

export type LineKind = 'ctx' | 'add' | 'del' | 'hunk' | 'meta';

export interface DiffLine {
  kind: LineKind;
  text: string;
  oldNo?: number;
  newNo?: number;
}

export interface FileDiff {
  path: string;
  lines: DiffLine[];
  added: number;
  removed: number;
}

export interface SplitRow {
  hunk?: string;
  left?: DiffLine;
  right?: DiffLine;
}

const HUNK = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@(.*)$/;

/** Lines of one file's diff. Without any `@@` header, every line is added (or removed). */
export function parseHunks(diff: string, whole: 'add' | 'del' = 'add'): DiffLine[] {
  const raw = diff.endsWith('\n') ? diff.slice(0, -1) : diff;
  if (!raw) return [];
  const src = raw.split('\n');
  if (!src.some((l) => HUNK.test(l))) {
    return src.map((text, i) =>
      whole === 'add' ? { kind: 'add', text, newNo: i + 1 } : { kind: 'del', text, oldNo: i + 1 },
    );
  }
  const out: DiffLine[] = [];
  let oldNo = 0;
  let newNo = 0;
  for (const l of src) {
    const h = HUNK.exec(l);
    if (h) {
      oldNo = +h[1];
      newNo = +h[2];
      out.push({ kind: 'hunk', text: l });
    } else if (l.startsWith('+++ ') || l.startsWith('--- ')) {
      out.push({ kind: 'meta', text: l });
    } else if (l.startsWith('+')) {
      out.push({ kind: 'add', text: l.slice(1), newNo: newNo++ });
    } else if (l.startsWith('-')) {
      out.push({ kind: 'del', text: l.slice(1), oldNo: oldNo++ });
    } else if (l.startsWith('\\')) {
      out.push({ kind: 'meta', text: l });
    } else {
      out.push({ kind: 'ctx', text: l.slice(1), oldNo: oldNo++, newNo: newNo++ });
    }
  }
  return out;
}

function count(lines: DiffLine[]): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const l of lines) {
    if (l.kind === 'add') added++;
    else if (l.kind === 'del') removed++;
  }
  return { added, removed };
}

export function fileDiff(path: string, diff: string, whole: 'add' | 'del' = 'add'): FileDiff {
  const lines = parseHunks(diff, whole).filter((l) => l.kind !== 'meta' || l.text.startsWith('\\'));
  return { path, lines, ...count(lines) };
}

/** A multi-file `git diff` split per file. */
export function parseGitDiff(diff: string): FileDiff[] {
  const files: FileDiff[] = [];
  const chunks = diff.split(/^(?=diff --git )/m);
  for (const chunk of chunks) {
    if (!chunk.trim()) continue;
    let path = '';
    const plus = /^\+\+\+ (?:b\/)?(.+)$/m.exec(chunk);
    const minus = /^--- (?:a\/)?(.+)$/m.exec(chunk);
    const git = /^diff --git a\/(.+?) b\/(.+)$/m.exec(chunk);
    if (plus && plus[1] !== '/dev/null') path = plus[1];
    else if (minus && minus[1] !== '/dev/null') path = minus[1];
    else if (git) path = git[2];
    const start = chunk.search(/^@@/m);
    const body = start === -1 ? '' : chunk.slice(start);
    const lines = parseHunks(body);
    files.push({ path: path.trim(), lines, ...count(lines) });
  }
  return files;
}

/** Pairs removed and added lines of each run for the side-by-side view. */
export function splitRows(lines: DiffLine[]): SplitRow[] {
  const rows: SplitRow[] = [];
  let i = 0;
  while (i < lines.length) {
    const l = lines[i];
    if (l.kind === 'hunk' || l.kind === 'meta') {
      rows.push({ hunk: l.text });
      i++;
    } else if (l.kind === 'ctx') {
      rows.push({ left: l, right: l });
      i++;
    } else {
      const dels: DiffLine[] = [];
      const adds: DiffLine[] = [];
      while (i < lines.length && lines[i].kind === 'del') dels.push(lines[i++]);
      while (i < lines.length && lines[i].kind === 'add') adds.push(lines[i++]);
      for (let k = 0; k < Math.max(dels.length, adds.length); k++) rows.push({ left: dels[k], right: adds[k] });
    }
  }
  return rows;
}
