/**
 * The model picker: a search box over every architecture and pretrained tag (web/catalog.json,
 * what `vitx list` and `vitx list --pretrained` print, with the MACs `vitx inspect` counts), as an
 * ARIA listbox driven from the box (arrows, Enter) or the mouse.
 */
import { count, h } from './dom.js';

interface CatalogModel { name: string; family: string; params: number; classes: number; size: string; sizes: string; macs: number; tags: string[] }
interface CatalogTag { tag: string; model: string; size: string; classes: number; params: number; macs: number; mean: number[]; std: number[]; cropPct: number; interpolation: string; hub: string | null }
export interface Catalog { models: CatalogModel[]; tags: CatalogTag[] }

export interface Entry {
  /** What `vitx export` takes: the architecture or the tag. */
  name: string;
  arch: string;
  family: string;
  params: number;
  macs: number;
  size: string;
  sizes: string;
  classes: number;
  /** The tag (the named one, or the architecture's default), or null. */
  tag: CatalogTag | null;
}

const MAX_SHOWN = 200;

export function entries(c: Catalog): Entry[] {
  const byArch = new Map(c.models.map((m) => [m.name, m]));
  const tags = new Map(c.tags.map((t) => [t.tag, t]));
  const out: Entry[] = [];
  for (const m of c.models) {
    const def = m.tags.map((t) => tags.get(t)!).find((t) => t.size === m.size && t.classes === m.classes) ?? null;
    out.push({ name: m.name, arch: m.name, family: m.family, params: m.params, macs: m.macs, size: m.size, sizes: m.sizes, classes: m.classes, tag: def });
  }
  for (const t of c.tags) {
    const m = byArch.get(t.model)!;
    out.push({ name: t.tag, arch: m.name, family: m.family, params: t.params, macs: t.macs, size: t.size, sizes: m.sizes, classes: t.classes, tag: t });
  }
  return out;
}

function matches(e: Entry, words: string[]): boolean {
  const hay = `${e.name} ${e.family} ${e.size}`.toLowerCase(); // the family is searchable, though not a column
  return words.every((w) => hay.includes(w));
}

export function modelPicker(box: HTMLInputElement, list: HTMLElement, all: Entry[], onPick: (e: Entry) => void): { pick(name: string): void } {
  let shown: Entry[] = [];
  let active = -1;
  let filter = ''; // what the user typed since the last pick; the list shows everything after a pick
  let picked: string | null = null;
  const render = () => {
    const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
    const found = all.filter((e) => matches(e, words));
    shown = found.slice(0, MAX_SHOWN);
    active = Math.min(active, shown.length - 1);
    list.replaceChildren(...shown.map((e, i) => h('li', { role: 'option', id: `opt-${i}`, 'aria-selected': e.name === picked ? 'true' : 'false', class: `${i === active ? 'active' : ''}${e.name === picked ? ' picked' : ''}`, 'data-name': e.name },
      h('span', { class: 'name', title: e.name }, e.name),
      h('span', { class: 'num' }, count(e.params, 'M')),
      h('span', { class: 'num' }, count(e.macs, 'G')),
      h('span', { class: 'num' }, e.size))));
    if (found.length > shown.length) list.append(h('li', { class: 'more', role: 'presentation' }, `${found.length - shown.length} more — type to narrow`));
    if (found.length === 0) list.append(h('li', { class: 'more', role: 'presentation' }, 'no model or tag matches'));
    box.setAttribute('aria-activedescendant', active >= 0 ? `opt-${active}` : '');
  };
  const choose = (e: Entry) => {
    box.value = e.name; filter = ''; picked = e.name; onPick(e);
    render();
    active = shown.findIndex((x) => x.name === e.name);
    render();
    list.querySelector('li.picked')?.scrollIntoView({ block: 'nearest' });
  };
  box.addEventListener('input', () => { filter = box.value; active = 0; render(); list.scrollTop = 0; });
  box.addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowDown') { active = Math.min(shown.length - 1, active + 1); render(); ev.preventDefault(); }
    else if (ev.key === 'ArrowUp') { active = Math.max(0, active - 1); render(); ev.preventDefault(); }
    else if (ev.key === 'Enter' && shown[active]) { choose(shown[active]!); ev.preventDefault(); }
  });
  list.addEventListener('click', (ev) => {
    const li = (ev.target as HTMLElement).closest('li[data-name]') as HTMLElement | null;
    const e = li && all.find((x) => x.name === li.dataset['name']);
    if (e) choose(e);
  });
  render();
  return {
    pick(name: string) {
      const e = all.find((x) => x.name === name);
      if (e) choose(e);
    },
  };
}
