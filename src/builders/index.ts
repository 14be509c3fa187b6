/** Registers every model family. Import this module before using the registry. */
import './mobileone.js';
import './fastvit.js';
import './mobilevit.js';
import './maxvit.js';
import './edgevit.js';
export * from './registry.js';
