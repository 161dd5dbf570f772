/**
 * The peer-to-peer code that loads native libraries (udx-native; libsodium under
 * @hyperswarm/secret-stream): engine.ts imports this only once a config has a p2p tunnel or visitor
 * (or the server speaks p2p to it), so a client without p2p does not carry it (about 5 MB of RSS
 * measured, issue 12).
 */
export { default as UDX } from 'udx-native';
export { DirectRoute } from './direct-route.js';
export { DirectTransport } from './direct-transport.js';
export { P2pManager, UNKNOWN_NAT } from './p2p-manager.js';
