// Focus targets shared by the keyboard shortcuts.
import { tick } from 'svelte';

async function focus(selector: string, select = false): Promise<void> {
  await tick();
  const el = document.querySelector<HTMLInputElement | HTMLTextAreaElement>(selector);
  if (!el) return;
  el.focus();
  if (select) el.select();
}

export const focusComposer = () => focus('[data-testid="composer"]');
export const focusSearch = () => focus('[data-testid="thread-search"]', true);
