/**
 * Tenant tokens of the Planhat-compatible ingest API and the rejects of what they pushed: a small
 * port beside the Store, in the same database (on SQLite it shares the store's connection).
 *
 * Each token owns two pseudo-sections (activities, metrics) of the hidden integration
 * {@link INGEST_INTEGRATION}, which the Store's listings never show: pushed rows land through
 * them (Store.landPushed), so they reach endusers, companies and the rollups like pulled rows and
 * the data module labels them with the token's name.
 */
import type { ApiToken, TokenReject } from '../core/api.js';

/**
 * Name of the hidden integration holding the tokens' pseudo-sections. Integration names must
 * start with a letter or digit, so no configured integration can take it.
 */
export const INGEST_INTEGRATION = '(ingest)';

/** A token with the pseudo-sections its pushed data lands through. */
export interface TokenOrigin extends ApiToken {
  activitiesSectionId: number;
  metricsSectionId: number;
}

export interface NewToken {
  name: string;
  /** The token's first characters, for display. */
  prefix: string;
  /** SHA-256 (hex) of the token. */
  tokenHash: string;
  /** Email of the creating user, or `cli`. */
  createdBy: string;
}

export interface TokenStore {
  /** Creates the token and its pseudo-sections; CONFLICT when the name is taken (revoked included). */
  createToken(token: NewToken): Promise<TokenOrigin>;
  /** Every token, revoked ones included, newest first. */
  listTokens(): Promise<ApiToken[]>;
  getToken(id: number): Promise<ApiToken | undefined>;
  findTokenByName(name: string): Promise<ApiToken | undefined>;
  /** The token whose hash this is, revoked or not. */
  findTokenByHash(tokenHash: string): Promise<TokenOrigin | undefined>;
  /** Revokes a token (its data stays); NOT_FOUND when there is none. Revoking twice is a no-op. */
  revokeToken(id: number): Promise<ApiToken>;
  /** Records that the token was used now (at most the last use is kept). */
  touchToken(id: number): Promise<void>;
  /** The rejects of what a token pushed, newest first. */
  listTokenRejects(id: number, limit: number): Promise<TokenReject[]>;
}
