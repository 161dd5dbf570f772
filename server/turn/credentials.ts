/**
 * Long-term credentials for TURN (RFC 8489 §9.2): who a USERNAME or USERHASH is, and their key.
 *
 * - Static users from `turn.users` (username -> password).
 * - TURN REST API ephemeral credentials (draft-uberti-behave-turn-rest-00, as coturn implements
 *   it) when `turn.restSecret` is set: the username is "expiry" or "expiry:user" (expiry in Unix
 *   seconds) and the password is base64(HMAC-SHA1(restSecret, username)). Expired ones are refused.
 * - USERHASH (RFC 8489 §14.4: "userhash = SHA-256(OpaqueString(username) ":" OpaqueString(realm))"):
 *   static users only, through a table of their hashes. REST usernames cannot be found from a hash
 *   (the server never saw them before), so REST clients must send USERNAME.
 * - Keys for both password algorithms (RFC 8489 §9.2.2): MD5 and SHA-256 of
 *   "username:realm:password" (the codec's longTermKey).
 */
import { createHmac } from 'node:crypto';
import { longTermKey, userHash, type StunCrypto } from '../../shared/stun/crypto.js';

export type PasswordAlgorithmName = 'md5' | 'sha256';

export interface TurnUser {
  /** The username as sent (for a USERHASH, the static username it stands for). */
  readonly username: string;
  readonly password: string;
  /** What the per-user allocation quota counts: the static username, or a REST username's user part. */
  readonly quotaKey: string;
  /** For TURN REST credentials: when they stop working (ms since the epoch). */
  readonly expiresAt?: number;
}

/** `expired`: TURN REST credentials past their expiry; the user is there so a release (Refresh 0) can still be checked. */
export type LookupResult = { kind: 'ok'; user: TurnUser } | { kind: 'unknown' } | { kind: 'expired'; user: TurnUser };

export interface CredentialStoreOptions {
  realm: string;
  users: Readonly<Record<string, string>>;
  restSecret?: string;
  crypto: StunCrypto;
}

/** At most this many derived keys of static users are memoised. */
const KEY_CACHE_LIMIT = 4096;

/** TURN REST username: "expiry" or "expiry:user". */
const REST_USERNAME = /^(\d{1,12})(?::(.+))?$/s;

export class CredentialStore {
  private readonly realm: string;
  private readonly users: ReadonlyMap<string, string>;
  private readonly restSecret: string | undefined;
  private readonly crypto: StunCrypto;
  private readonly byHash = new Map<string, string>();
  private readonly keyCache = new Map<string, Uint8Array>();

  constructor(options: CredentialStoreOptions) {
    this.realm = options.realm;
    this.users = new Map(Object.entries(options.users));
    this.restSecret = options.restSecret;
    this.crypto = options.crypto;
    for (const username of this.users.keys()) {
      try {
        this.byHash.set(hex(userHash(this.crypto, username, this.realm)), username);
      } catch {
        // a username the string preparation refuses can still log in with USERNAME
      }
    }
  }

  /** Resolves a USERNAME. Static users first, then TURN REST credentials. */
  lookup(username: string, now: number): LookupResult {
    const password = this.users.get(username);
    if (password !== undefined) return { kind: 'ok', user: { username, password, quotaKey: username } };
    if (this.restSecret === undefined) return { kind: 'unknown' };
    const m = REST_USERNAME.exec(username);
    if (!m) return { kind: 'unknown' };
    const expiresAt = Number(m[1]) * 1000;
    const restPassword = createHmac('sha1', this.restSecret).update(username, 'utf8').digest('base64');
    const user = { username, password: restPassword, quotaKey: m[2] ?? username, expiresAt };
    return expiresAt <= now ? { kind: 'expired', user } : { kind: 'ok', user };
  }

  /** Resolves a USERHASH (RFC 8489 §14.4) to a static user. */
  lookupHash(hash: Uint8Array, now: number): LookupResult {
    const username = this.byHash.get(hex(hash));
    return username === undefined ? { kind: 'unknown' } : this.lookup(username, now);
  }

  /** The long-term key of a user for a password algorithm (RFC 8489 §9.2.2). Throws StunError for unpreparable strings. */
  key(user: TurnUser, algorithm: PasswordAlgorithmName): Uint8Array {
    const cacheable = user.expiresAt === undefined;
    const cacheKey = `${algorithm}\u0000${user.username}`;
    if (cacheable) {
      const cached = this.keyCache.get(cacheKey);
      if (cached) return cached;
    }
    const key = longTermKey(this.crypto, user.username, this.realm, user.password, algorithm);
    if (cacheable) {
      if (this.keyCache.size >= KEY_CACHE_LIMIT) this.keyCache.clear();
      this.keyCache.set(cacheKey, key);
    }
    return key;
  }
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
