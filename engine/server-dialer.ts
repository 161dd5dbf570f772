/**
 * Opens a connection to the Burrow server and reads its Challenge. With TLS the certificate's
 * fingerprint must match `serverFingerprint` from config, or, when none is configured, the one
 * remembered on first use; a changed certificate is refused before anything is sent.
 */
import type { Logger } from 'pino';
import { dial } from '../io/dial.js';
import { FramedConnection } from '../io/framed-connection.js';
import { normalizeFingerprint } from '../io/tls-identity.js';
import type { TrustStore } from '../io/trust-store.js';
import type { ClientConfig } from '../shared/config/client-config.js';
import { parseHostPort } from '../shared/net/address.js';
import { expectMessage, type MessageOf } from '../shared/protocol/messages.js';

const CONNECT_TIMEOUT_MS = 10_000;

export class FingerprintError extends Error {
  override readonly name = 'FingerprintError';
}

export interface ServerConnection {
  conn: FramedConnection;
  challenge: MessageOf<'Challenge'>;
  fingerprint?: string;
}

export class ServerDialer {
  constructor(
    private readonly config: () => ClientConfig,
    private readonly trust: TrustStore,
    private readonly logger: Logger,
  ) {}

  async open(): Promise<ServerConnection> {
    const config = this.config();
    const { host, port } = parseHostPort(config.server)!;
    const { socket, fingerprint } = await dial({ host, port, tls: config.tls, timeoutMs: CONNECT_TIMEOUT_MS });
    try {
      if (config.tls) await this.verify(config, fingerprint);
      const conn = new FramedConnection(socket);
      const challenge = expectMessage(await conn.next(CONNECT_TIMEOUT_MS), 'Challenge');
      return { conn, challenge, fingerprint };
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }

  private async verify(config: ClientConfig, fingerprint: string | undefined): Promise<void> {
    if (!fingerprint) throw new FingerprintError('server presented no certificate');
    if (config.serverFingerprint) {
      const pinned = normalizeFingerprint(config.serverFingerprint);
      if (pinned !== fingerprint) {
        throw new FingerprintError(`server certificate fingerprint ${fingerprint} does not match serverFingerprint ${pinned} in the config`);
      }
      return;
    }
    const known = await this.trust.get(config.server);
    if (known === undefined) {
      await this.trust.remember(config.server, fingerprint);
      this.logger.warn({ server: config.server, fingerprint }, 'trusting server certificate on first use');
    } else if (known !== fingerprint) {
      throw new FingerprintError(
        `server certificate changed: remembered ${known}, got ${fingerprint}. ` +
          'If the server was reinstalled, set serverFingerprint in the config or remove the entry from known-servers.json in the state directory',
      );
    }
  }
}
