/** Registers every model family. Import this module before using the registry. */
import './mobileone.js';
import './fastvit.js';
import './nextvit.js';
export * from './registry.js';
