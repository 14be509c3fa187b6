/** Registers every model family. Import this module before using the registry. */
import './nextvit.js';
import './mobilevit.js';
import './maxvit.js';
import './edgevit.js';
import './mobileone.js';
import './fastvit.js';
export * from './registry.js';
