// The package face of Shoal.
export { native } from './native.js';
