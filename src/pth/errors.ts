// The errors of the checkpoint reader. Every rejection is one of these, with a message that names
// the problem (the entry, the opcode, the global, the tensor) and, where there is one, the fix.

/** A malformed, truncated or unsupported PyTorch checkpoint. */
export class PthError extends Error {
  override name = 'PthError';
}

/**
 * The checkpoint's pickle names a global or asks for a call outside the allowlist: an attempt to
 * run code (`os.system`, `builtins.eval`, …) or a pickled Python object that is not plain data.
 * Nothing of it is ever executed; the message names the global or the opcode.
 */
export class UnsafePickleError extends PthError {
  override name = 'UnsafePickleError';
}

/** A name taken from the file, for a message: quoted and escaped as JSON, cut at 120 characters. */
export function quoted(s: string): string {
  return JSON.stringify(s.length > 120 ? `${s.slice(0, 120)}…` : s);
}
