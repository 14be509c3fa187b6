/** A few DOM helpers: no framework, just elements. */
export function $(id: string): HTMLElement {
  const e = document.getElementById(id);
  if (!e) throw new Error(`#${id} is missing from index.html`);
  return e;
}

export const input = (id: string) => $(id) as HTMLInputElement;
export const select = (id: string) => $(id) as HTMLSelectElement;

type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | boolean | number> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false) continue;
    if (k === 'class') e.className = String(v); else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

export function show(e: HTMLElement, on: boolean): void {
  e.hidden = !on;
}

/** 31763368 → 31.76 M; 5794420224 → 5.794 G (as the README's table writes them). */
export function count(n: number, unit: 'M' | 'G'): string {
  return unit === 'G' ? `${(n / 1e9).toFixed(3)} G` : `${(n / 1e6).toFixed(2)} M`;
}

export function bytes(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(1)} kB`;
}
