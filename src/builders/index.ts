/** Registers every model family. Import this module before using the registry. */
export * from './registry.js';
