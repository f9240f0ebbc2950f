// Causal contexts: encoded version vectors that clients carry as opaque tokens.
import { BadContextError, BadRequestError } from '../errors.js';
import { native } from '../native.js';

/** The canonical encoding of the empty version vector. */
export const EMPTY_CONTEXT: Buffer = Buffer.from([1, 0]);

/**
 * A client's context, checked: undefined, null and zero bytes mean "saw nothing"
 * (EMPTY_CONTEXT). Not bytes → BadRequestError; malformed → BadContextError.
 */
export function parseContext(context: unknown): Uint8Array {
  if (context === undefined || context === null) return EMPTY_CONTEXT;
  if (!(context instanceof Uint8Array)) throw new BadRequestError('context must be a Buffer or Uint8Array');
  if (context.length === 0) return EMPTY_CONTEXT;
  try {
    native.vvValidate(context);
  } catch (err) {
    throw new BadContextError(`malformed context: ${(err as Error).message}`, { cause: err });
  }
  return context;
}
