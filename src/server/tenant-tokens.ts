/**
 * Tenant tokens of the ingest API: random 256-bit secrets shown once; the store keeps a SHA-256
 * of each (a copy of the store does not hand out working tokens) and its first characters for
 * display. `sluice token create` and `POST /api/tokens` both create them here.
 */
import { randomBytes } from 'node:crypto';
import type { TokenCreated } from '../core/api.js';
import type { TokenStore } from '../store/token-store.js';
import { hashToken } from './auth.js';

/** Every tenant token starts with this, so a leaked one is recognisable (secret scanners). */
export const TENANT_TOKEN_PREFIX = 'slt_';
/** Characters of a token kept for display: the prefix and 8 of the secret. */
const SHOWN = TENANT_TOKEN_PREFIX.length + 8;

/** Creates a token named `name`; the answer's `secret` is the only copy of the token. */
export async function createTenantToken(
  tokens: TokenStore,
  name: string,
  createdBy: string,
): Promise<TokenCreated> {
  const secret = `${TENANT_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const created = await tokens.createToken({
    name,
    prefix: secret.slice(0, SHOWN),
    tokenHash: hashToken(secret),
    createdBy,
  });
  const { activitiesSectionId: _a, metricsSectionId: _m, ...token } = created;
  return { token, secret };
}
