// A small Markdown renderer that builds DOM nodes (never HTML strings): model output is
// hostile. Text always goes through text nodes; links are kept only for http(s) URLs and
// open with rel="noopener noreferrer"; images are not loaded (their alt text and URL are
// shown instead).

type Parent = HTMLElement | DocumentFragment;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, parent?: Parent, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}

export function safeUrl(raw: string): string | null {
  const s = raw.trim();
  if (!/^https?:\/\//i.test(s)) return null;
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

function link(parent: Parent, href: string, label: string): void {
  const url = safeUrl(href);
  if (!url) {
    parent.appendChild(document.createTextNode(label === href ? label : `${label} (${href})`));
    return;
  }
  const a = el('a', parent, label);
  a.href = url;
  a.target = '_blank';
  a.rel = 'noopener noreferrer';
  a.referrerPolicy = 'no-referrer';
}

// ------------------------------------------------------------------------------ inline

const INLINE =
  /(`+)([\s\S]*?[^`])\1(?!`)|!\[([^\]]*)\]\(([^)\s]*)(?:\s+"[^"]*")?\)|\[([^\]]+)\]\(([^)\s]*)(?:\s+"[^"]*")?\)|<(https?:\/\/[^>\s]+)>|(https?:\/\/[^\s<]*[^\s<.,:;"')\]!?])|(\*\*|__)(?=\S)([\s\S]*?\S)\9|(\*|_)(?=\S)([\s\S]*?\S)\11(?![\w*])|~~(?=\S)([\s\S]*?\S)~~|\\([\\`*_{}[\]()#+\-.!~|>])|( {2,}|\\)\n/g;

export function renderInline(text: string, parent: Parent, depth = 0): void {
  // Deep nesting or a huge paragraph (the lazy patterns are quadratic in the worst case):
  // plain text.
  if (depth > 8 || text.length > 20000) {
    parent.appendChild(document.createTextNode(text));
    return;
  }
  const re = new RegExp(INLINE.source, 'g');
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
    last = re.lastIndex;
    if (m[1] !== undefined) {
      el('code', parent, m[2].replace(/^ (.*) $/, '$1'));
    } else if (m[3] !== undefined || m[4] !== undefined) {
      // No remote (or any) image loads: show what it is.
      const span = el('span', parent);
      span.className = 'md-image';
      span.textContent = `[image: ${m[3] || 'untitled'}] `;
      if (m[4]) link(span, m[4], m[4]);
    } else if (m[5] !== undefined) {
      link(parent, m[6], m[5]);
    } else if (m[7] !== undefined) {
      link(parent, m[7], m[7]);
    } else if (m[8] !== undefined) {
      link(parent, m[8], m[8]);
    } else if (m[9] !== undefined) {
      renderInline(m[10], el('strong', parent), depth + 1);
    } else if (m[11] !== undefined) {
      renderInline(m[12], el('em', parent), depth + 1);
    } else if (m[13] !== undefined) {
      renderInline(m[13], el('del', parent), depth + 1);
    } else if (m[14] !== undefined) {
      parent.appendChild(document.createTextNode(m[14]));
    } else if (m[15] !== undefined) {
      el('br', parent);
    }
    if (m[0].length === 0) re.lastIndex++;
  }
  if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
}

// ------------------------------------------------------------------------------- blocks

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const HR = /^ {0,3}([-*_])( *\1){2,}\s*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const BULLET = /^( {0,3})([-*+])\s+(.*)$/;
const ORDERED = /^( {0,3})(\d{1,9})[.)]\s+(.*)$/;
const TABLE_SEP = /^\s*\|?\s*:?-{1,}:?\s*(\|\s*:?-{1,}:?\s*)*\|?\s*$/;

function isBlockStart(line: string): boolean {
  return FENCE.test(line) || HEADING.test(line) || HR.test(line) || QUOTE.test(line) || BULLET.test(line) || ORDERED.test(line);
}

function splitRow(line: string): string[] {
  let s = line.trim();
  if (s.startsWith('|')) s = s.slice(1);
  if (s.endsWith('|') && !s.endsWith('\\|')) s = s.slice(0, -1);
  return s.split(/(?<!\\)\|/).map((c) => c.trim());
}

export function renderBlocks(lines: string[], parent: Parent, depth = 0): void {
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) {
      i++;
      continue;
    }
    let m: RegExpExecArray | null;
    if ((m = FENCE.exec(line))) {
      const fence = m[1];
      const lang = m[2];
      const body: string[] = [];
      i++;
      while (i < lines.length && !new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`).test(lines[i])) {
        body.push(lines[i]);
        i++;
      }
      i++;
      const pre = el('pre', parent);
      pre.className = 'md-code';
      const code = el('code', pre, body.join('\n'));
      if (lang) code.dataset.lang = lang;
      continue;
    }
    if ((m = HEADING.exec(line))) {
      const level = Math.min(6, m[1].length + 2) as 3 | 4 | 5 | 6;
      renderInline(m[2], el(`h${level}`, parent), depth);
      i++;
      continue;
    }
    if (HR.test(line)) {
      el('hr', parent);
      i++;
      continue;
    }
    if (QUOTE.test(line)) {
      const body: string[] = [];
      while (i < lines.length && (m = QUOTE.exec(lines[i]))) {
        body.push(m[1]);
        i++;
      }
      const q = el('blockquote', parent);
      if (depth < 6) renderBlocks(body, q, depth + 1);
      else q.textContent = body.join('\n');
      continue;
    }
    const bullet = BULLET.exec(line);
    const ordered = bullet ? null : ORDERED.exec(line);
    if (bullet || ordered) {
      const list = bullet ? el('ul', parent) : el('ol', parent);
      if (ordered && ordered[2] !== '1') list.setAttribute('start', String(parseInt(ordered[2], 10)));
      const itemRe = bullet ? BULLET : ORDERED;
      while (i < lines.length) {
        const im = itemRe.exec(lines[i]);
        if (!im) break;
        const indent = im[1].length + (bullet ? 2 : im[2].length + 2);
        const body = [im[3]];
        i++;
        while (i < lines.length) {
          const l = lines[i];
          if (!l.trim()) {
            // A blank line ends the item unless indented content follows.
            if (i + 1 < lines.length && /^\s{2,}\S/.test(lines[i + 1]) && !itemRe.test(lines[i + 1])) {
              body.push('');
              i++;
              continue;
            }
            break;
          }
          if (itemRe.test(l) && l.search(/\S/) < indent) break;
          if (l.search(/\S/) >= 2) body.push(l.slice(Math.min(indent, l.search(/\S/))));
          else if (!isBlockStart(l)) body.push(l.trim());
          else break;
          i++;
        }
        const li = el('li', list);
        const task = /^\[([ xX])\]\s+/.exec(body[0]);
        if (task) {
          const box = el('input', li);
          box.type = 'checkbox';
          box.disabled = true;
          box.checked = task[1] !== ' ';
          body[0] = body[0].slice(task[0].length);
        }
        if (body.length === 1 || depth >= 6) renderInline(body.join('\n'), li, depth);
        else renderBlocks(body, li, depth + 1);
        if (i < lines.length && !lines[i].trim() && i + 1 < lines.length && itemRe.test(lines[i + 1])) i++;
      }
      continue;
    }
    if (line.includes('|') && i + 1 < lines.length && TABLE_SEP.test(lines[i + 1]) && lines[i + 1].includes('-')) {
      const wrap = el('div', parent);
      wrap.className = 'md-table';
      const table = el('table', wrap);
      const head = el('tr', el('thead', table));
      for (const c of splitRow(line)) renderInline(c, el('th', head), depth);
      const tbody = el('tbody', table);
      i += 2;
      while (i < lines.length && lines[i].includes('|') && lines[i].trim()) {
        const tr = el('tr', tbody);
        for (const c of splitRow(lines[i])) renderInline(c, el('td', tr), depth);
        i++;
      }
      continue;
    }
    // Paragraph: until a blank line or another block.
    const para = [line];
    i++;
    while (i < lines.length && lines[i].trim() && !isBlockStart(lines[i])) {
      para.push(lines[i]);
      i++;
    }
    renderInline(para.join('\n'), el('p', parent), depth);
  }
}

export function renderMarkdown(text: string): DocumentFragment {
  const frag = document.createDocumentFragment();
  renderBlocks(text.replace(/\r\n?/g, '\n').split('\n'), frag);
  return frag;
}

/** Svelte action: renders `text` as Markdown into the node (replacing its children). */
export function markdown(node: HTMLElement, text: string) {
  let current = text;
  node.replaceChildren(renderMarkdown(text));
  return {
    update(next: string) {
      if (next === current) return;
      current = next;
      node.replaceChildren(renderMarkdown(next));
    },
  };
}
