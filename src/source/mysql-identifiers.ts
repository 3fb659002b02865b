import { SluiceError } from '../core/errors.js';

/** MySQL's limit on the length of a table or column name, in characters (not bytes). */
const MAX_IDENTIFIER_CHARS = 64;

/**
 * Quotes a table or column name for MySQL: wraps it in backticks and doubles the backticks inside,
 * so reserved words (`order`), spaces, backticks and non-ASCII names are all safe to interpolate.
 *
 * @throws SluiceError `SECTION_INVALID` for an empty name, a name with a NUL character, or one
 *   longer than 64 characters: MySQL cannot name anything that way.
 */
export function quoteIdent(name: string): string {
  const problem =
    name.length === 0
      ? 'it is empty'
      : name.includes('\0')
        ? 'it contains a NUL character'
        : [...name].length > MAX_IDENTIFIER_CHARS
          ? `it is longer than ${MAX_IDENTIFIER_CHARS} characters`
          : undefined;
  if (problem !== undefined) {
    throw new SluiceError('SECTION_INVALID', `"${name}" is not a valid MySQL name: ${problem}`, {
      identifier: name,
    });
  }
  return '`' + name.replaceAll('`', '``') + '`';
}
