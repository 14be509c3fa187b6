/**
 * A drop zone: a <label> around a file input, so that it is reachable by keyboard and works as a
 * plain file picker too; dropping files on it (or anywhere on its card) picks them as well.
 */
export function dropZone(zone: HTMLElement, inputEl: HTMLInputElement, onFiles: (files: File[]) => void): void {
  const pick = (files: FileList | null) => { if (files && files.length) onFiles([...files]); };
  inputEl.addEventListener('change', () => { pick(inputEl.files); inputEl.value = ''; });
  zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    pick(e.dataTransfer?.files ?? null);
  });
}

/** A dropped File as the worker takes it (bytes to transfer). */
export async function readDropped(f: File): Promise<{ name: string; bytes: ArrayBuffer }> {
  return { name: f.name, bytes: await f.arrayBuffer() };
}
