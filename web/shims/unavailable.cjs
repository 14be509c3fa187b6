/**
 * Browser stand-in for the modules that only code paths the page never takes use (the file
 * system, paths, buffers, Node-only backends). Importing it works, with any name; calling or
 * constructing what it gives throws. See README.md.
 *
 * The names are served by a Proxy in the prototype chain, because esbuild's CommonJS interop
 * copies a module's own properties and keeps its prototype.
 */
function unavailable(name) {
  return new Proxy(function () {}, {
    get(_t, key) {
      if (key === Symbol.toPrimitive) return () => NaN;
      if (typeof key === 'symbol' || key === 'then') return undefined;
      return unavailable(`${name}.${key}`);
    },
    apply() { throw new Error(`${name} is not available in the browser`); },
    construct() { throw new Error(`${name} is not available in the browser`); },
  });
}
const names = new Proxy({}, {
  get(_t, key) {
    if (typeof key === 'symbol' || key === '__esModule' || key === 'then') return undefined;
    return unavailable(key);
  },
});
module.exports = Object.create(names);
