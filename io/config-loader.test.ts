import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stunTlsListen } from '../shared/config/server-config.js';
import { ConfigError, loadClientConfig, loadServerConfig, parseClientConfig, parseServerConfig } from './config-loader.js';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, the config was accepted');
}

const CLIENT_HEAD = 'server: relay.example.com:7000\ntoken: correct-horse-battery\n';
const SERVER_HEAD = 'token: correct-horse-battery\n';

interface BadCase {
  readonly title: string;
  readonly kind: 'server' | 'client';
  readonly yaml: string;
  /** [line prefix (the key path, or the start of a line without one), pattern the rest must match] */
  readonly expect: readonly (readonly [string, RegExp])[];
}

const badConfigs: BadCase[] = [
  {
    title: 'YAML syntax error (tab indentation)',
    kind: 'client',
    yaml: `${CLIENT_HEAD}tunnels:\n  - name: ssh\n\ttype: tcp\n`,
    expect: [['YAML syntax error at line 5, column 1', /tab/i]],
  },
  {
    title: 'YAML syntax error (unclosed flow sequence)',
    kind: 'server',
    yaml: `${SERVER_HEAD}allowPorts: [6000, 7000\nlisten: 0.0.0.0:7000\n`,
    expect: [['YAML syntax error at line', /column \d+: .+/]],
  },
  {
    title: 'duplicate YAML key',
    kind: 'server',
    yaml: `${SERVER_HEAD}token: other-token-here\n`,
    expect: [['YAML syntax error at line 2, column 1', /unique/]],
  },
  {
    title: 'unresolved YAML alias',
    kind: 'server',
    yaml: `${SERVER_HEAD}listen: *addr\n`,
    expect: [['YAML error', /alias/i]],
  },
  {
    title: 'empty file',
    kind: 'client',
    yaml: '',
    expect: [['expected a mapping of keys', /empty/]],
  },
  {
    title: 'comments only',
    kind: 'server',
    yaml: '# nothing here yet\n',
    expect: [['expected a mapping of keys', /empty/]],
  },
  {
    title: 'top level is a list',
    kind: 'client',
    yaml: '- server: a:1\n',
    expect: [['expected a mapping of keys', /got a list/]],
  },
  {
    title: 'top level is a scalar',
    kind: 'server',
    yaml: 'just some text\n',
    expect: [['expected a mapping of keys', /^\(got one line of text; write one "key: value" per line\)$/]],
  },
  {
    title: 'unknown key in a tunnel (snake_case typo)',
    kind: 'client',
    yaml: `${CLIENT_HEAD}tunnels:\n  - { name: ssh, type: tcp, local: "127.0.0.1:22", remotePort: 6000, remote_port: 6000 }\n`,
    expect: [['tunnels[0]', /^unknown key "remote_port" \(did you mean "remotePort"\?\)$/]],
  },
  {
    title: 'unknown top-level key',
    kind: 'server',
    yaml: `${SERVER_HEAD}bind_port: 7000\n`,
    expect: [['unknown key "bind_port"', /^$/]],
  },
  {
    title: 'misspelled key gets a suggestion',
    kind: 'client',
    yaml: `${CLIENT_HEAD}heartbeat: { intervall: 5 }\n`,
    expect: [['heartbeat', /^unknown key "intervall" \(did you mean "interval"\?\)$/]],
  },
  {
    title: 'missing token (client)',
    kind: 'client',
    yaml: 'server: relay.example.com:7000\n',
    expect: [['token', /^required$/]],
  },
  {
    title: 'missing token (server)',
    kind: 'server',
    yaml: 'listen: 0.0.0.0:7000\n',
    expect: [['token', /^required$/]],
  },
  {
    title: 'token too short, and its value is not echoed',
    kind: 'client',
    yaml: 'server: relay.example.com:7000\ntoken: hunter2\n',
    expect: [['token', /^expected a token of at least 8 characters$/]],
  },
  {
    title: 'remotePort 70000',
    kind: 'client',
    yaml:
      `${CLIENT_HEAD}tunnels:\n` +
      '  - { name: ssh, type: tcp, local: "127.0.0.1:22", remotePort: 6000 }\n' +
      '  - { name: web, type: tcp, local: "127.0.0.1:80", remotePort: 70000 }\n',
    expect: [['tunnels[1].remotePort', /^expected at most 65535 \(got 70000\)$/]],
  },
  {
    title: 'remotePort not a whole number / a string',
    kind: 'client',
    yaml:
      `${CLIENT_HEAD}tunnels:\n` +
      '  - { name: a, type: udp, local: "127.0.0.1:53", remotePort: 53.5 }\n' +
      '  - { name: b, type: udp, local: "127.0.0.1:53", remotePort: "5353" }\n',
    expect: [
      ['tunnels[0].remotePort', /^expected a whole number \(got 53.5\)$/],
      ['tunnels[1].remotePort', /^expected a number \(got "5353"\)$/],
    ],
  },
  {
    title: 'bad tunnel type',
    kind: 'client',
    yaml: `${CLIENT_HEAD}tunnels:\n  - { name: web, type: http, local: "127.0.0.1:80", remotePort: 8080 }\n`,
    expect: [['tunnels[0].type', /^expected one of tcp, udp, secret, p2p \(got "http"\)$/]],
  },
  {
    title: 'missing tunnel type',
    kind: 'client',
    yaml: `${CLIENT_HEAD}tunnels:\n  - { name: web, local: "127.0.0.1:80", remotePort: 8080 }\n`,
    expect: [['tunnels[0].type', /^required \(one of tcp, udp, secret, p2p\)$/]],
  },
  {
    title: 'p2p udp settings where they do not apply',
    kind: 'client',
    yaml:
      `${CLIENT_HEAD}tunnels:\n` +
      '  - { name: ssh, type: p2p, local: "127.0.0.1:22", secret: a-long-secret, idleTimeout: 30 }\n' +
      'visitors:\n' +
      '  - { name: a, tunnel: ssh, secret: a-long-secret, bind: "127.0.0.1:2222", protocol: udp }\n' +
      '  - { name: b, type: p2p, tunnel: ssh, secret: a-long-secret, bind: "127.0.0.1:2223", idleTimeout: 30 }\n' +
      '  - { name: c, type: p2p, tunnel: ssh, secret: a-long-secret, bind: "127.0.0.1:2224", protocol: quic }\n',
    expect: [
      ['tunnels[0].idleTimeout', /^idleTimeout applies to p2p tunnels with protocol udp only$/],
      ['visitors[0].protocol', /^protocol applies to visitors of type p2p only$/],
      ['visitors[1].idleTimeout', /^idleTimeout applies to visitors with protocol udp only$/],
      ['visitors[2].protocol', /expected one of tcp, udp/],
    ],
  },
  {
    title: 'tunnel that is not a mapping',
    kind: 'client',
    yaml: `${CLIENT_HEAD}tunnels:\n  - ssh\n`,
    expect: [['tunnels[0]', /^expected a mapping \(got "ssh"\)$/]],
  },
  {
    title: 'duplicate tunnel name',
    kind: 'client',
    yaml:
      `${CLIENT_HEAD}tunnels:\n` +
      '  - { name: ssh, type: tcp, local: "127.0.0.1:22", remotePort: 6000 }\n' +
      '  - { name: ssh, type: udp, local: "127.0.0.1:53", remotePort: 6001 }\n',
    expect: [['tunnels[1].name', /^duplicate tunnel name "ssh"$/]],
  },
  {
    title: 'duplicate visitor name',
    kind: 'client',
    yaml:
      `${CLIENT_HEAD}visitors:\n` +
      '  - { name: v, tunnel: db, secret: long-enough-secret, bind: "127.0.0.1:5432" }\n' +
      '  - { name: v, tunnel: db, secret: long-enough-secret, bind: "127.0.0.1:5433" }\n',
    expect: [['visitors[1].name', /^duplicate visitor name "v"$/]],
  },
  {
    title: 'bad host:port',
    kind: 'client',
    yaml:
      'server: relay.example.com\ntoken: correct-horse-battery\n' +
      'visitors:\n  - { name: v, tunnel: db, secret: long-enough-secret, bind: "::1:5432" }\n',
    expect: [
      ['server', /^expected "host:port".*\(got "relay.example.com"\)$/],
      ['visitors[0].bind', /^expected "host:port".*\(got "::1:5432"\)$/],
    ],
  },
  {
    title: 'listen port out of range',
    kind: 'server',
    yaml: `${SERVER_HEAD}listen: 0.0.0.0:99999\n`,
    expect: [['listen', /^expected "host:port".*\(got "0.0.0.0:99999"\)$/]],
  },
  {
    title: 'bad bandwidth string',
    kind: 'client',
    yaml: `${CLIENT_HEAD}tunnels:\n  - { name: ssh, type: tcp, local: "127.0.0.1:22", remotePort: 6000, bandwidth: 10 parsecs }\n`,
    expect: [['tunnels[0].bandwidth', /^expected bytes per second, e\.g\. .*\(got "10 parsecs"\)$/]],
  },
  {
    title: 'bandwidth of the wrong type',
    kind: 'client',
    yaml: `${CLIENT_HEAD}tunnels:\n  - { name: ssh, type: tcp, local: "127.0.0.1:22", remotePort: 6000, bandwidth: true }\n`,
    expect: [['tunnels[0].bandwidth', /^expected a number or a string \(got true\)$/]],
  },
  {
    title: 'tlsCert without tlsKey',
    kind: 'server',
    yaml: `${SERVER_HEAD}tlsCert: /etc/burrow/cert.pem\n`,
    expect: [['tlsCert', /^tlsCert and tlsKey go together$/]],
  },
  {
    title: 'bad CIDR in allow',
    kind: 'client',
    yaml: `${CLIENT_HEAD}tunnels:\n  - { name: ssh, type: tcp, local: "127.0.0.1:22", remotePort: 6000, allow: ["10.0.0.0/8", "office-network"] }\n`,
    expect: [['tunnels[0].allow[1]', /^expected an IP address or CIDR block.*\(got "office-network"\)$/]],
  },
  {
    title: 'bad port range in allowPorts',
    kind: 'server',
    yaml: `${SERVER_HEAD}allowPorts: ["6000-5000", 0]\n`,
    expect: [
      ['allowPorts[0]', /^expected a port or range like .*\(got "6000-5000"\)$/],
      ['allowPorts[1]', /^expected a port or range like .*\(got 0\)$/],
    ],
  },
  {
    title: 'empty allowPorts',
    kind: 'server',
    yaml: `${SERVER_HEAD}allowPorts: []\n`,
    expect: [['allowPorts', /^expected at least 1 item$/]],
  },
  {
    title: 'admin token too short',
    kind: 'server',
    yaml: `${SERVER_HEAD}admin: { token: short }\n`,
    expect: [['admin.token', /^expected an admin token of at least 8 characters$/]],
  },
  {
    title: 'bad log level',
    kind: 'server',
    yaml: `${SERVER_HEAD}log: { level: loud }\n`,
    expect: [['log.level', /^expected one of trace, debug, info, warn, error, fatal, silent \(got "loud"\)$/]],
  },
  {
    title: 'wrong types: tls, heartbeatTimeout, poolSize',
    kind: 'client',
    yaml: `${CLIENT_HEAD}tls: "yes"\npoolSize: 100\nheartbeat: { timeout: 0 }\n`,
    expect: [
      ['tls', /^expected true or false \(got "yes"\)$/],
      ['poolSize', /^expected at most 64 \(got 100\)$/],
      ['heartbeat.timeout', /^expected a positive number of seconds \(got 0\)$/],
    ],
  },
  {
    title: 'admin neither false nor a mapping',
    kind: 'client',
    yaml: `${CLIENT_HEAD}admin: on\n`,
    expect: [['admin', /^expected false or a mapping \(got "on"\)$/]],
  },
  {
    title: 'key with no value',
    kind: 'client',
    yaml: 'server:\ntoken: correct-horse-battery\n',
    expect: [['server', /^expected a string \(got an empty value\)$/]],
  },
  {
    title: 'bad server fingerprint',
    kind: 'client',
    yaml: `${CLIENT_HEAD}serverFingerprint: "AB:CD"\n`,
    expect: [['serverFingerprint', /^expected a SHA-256 fingerprint.*\(got "AB:CD"\)$/]],
  },
];

describe('parse*Config: bad configs', () => {
  for (const c of badConfigs) {
    it(c.title, () => {
      const file = `/etc/burrow/${c.kind}.yaml`;
      const parse = c.kind === 'server' ? parseServerConfig : parseClientConfig;
      const err = configError(() => parse(c.yaml, file));
      expect(err.file).toBe(file);
      const [first, ...rest] = err.message.split('\n');
      expect(first).toBe(`${file}: invalid config`);
      expect(rest).toEqual(err.issues.map((i) => `  ${i}`));
      for (const [prefix, gist] of c.expect) {
        const matching = err.issues.filter((line) => line === prefix || line.startsWith(`${prefix}: `) || line.startsWith(`${prefix} `));
        expect(matching, `no issue line for "${prefix}" in:\n${err.message}`).not.toHaveLength(0);
        const rests = matching.map((line) => line.slice(prefix.length).replace(/^:? ?/, ''));
        expect(rests.some((r) => gist.test(r)), `"${prefix}" lines ${JSON.stringify(matching)} do not match ${gist}`).toBe(true);
      }
    });
  }

  it('collects every problem into one error, one line each', () => {
    const err = configError(() =>
      parseClientConfig(
        'server: nowhere\ntoken: hunter2\npool_size: 3\ntunnels:\n' +
          '  - { name: "bad name", type: tcp, local: "127.0.0.1:22", remotePort: -1 }\n',
        'c.yaml',
      ),
    );
    expect(err.issues).toEqual([
      expect.stringMatching(/^server: expected "host:port"/),
      'token: expected a token of at least 8 characters',
      expect.stringMatching(/^tunnels\[0\]\.name: expected a name of letters.*\(got "bad name"\)$/),
      'tunnels[0].remotePort: expected at least 0 (got -1)',
      'unknown key "pool_size" (did you mean "poolSize"?)',
    ]);
  });

  it('never echoes token or secret values', () => {
    const err = configError(() =>
      parseClientConfig(
        'server: a:1\ntoken: sh0rt\ntunnels:\n  - { name: db, type: secret, local: "127.0.0.1:5432", secret: tiny }\n',
        'c.yaml',
      ),
    );
    expect(err.message).not.toContain('sh0rt');
    expect(err.message).not.toContain('tiny');
    expect(err.issues).toContain('tunnels[0].secret: expected a secret of at least 8 characters');
  });

  describe('no secret in any message (canary)', () => {
    const CANARY = 'CANARY-s3cr3t-7f3a9';
    const NUMERIC = 98765432;
    const server: Array<[string, string]> = [
      ['not a mapping: one line', `listen=0.0.0.0:7000 token=${CANARY}`],
      ['not a mapping: no colon', `token ${CANARY}`],
      ['not a mapping: a list', `- token: ${CANARY}`],
      ['YAML: unterminated quote', `token: "${CANARY}`],
      ['YAML: key=value line', `listen: 0.0.0.0:7000\ntoken=${CANARY}`],
      ['YAML: bad indentation', `token: ${CANARY}\n  listen: x`],
      ['YAML: duplicate token', `token: ${CANARY}\ntoken: ${CANARY}`],
      ['YAML: unclosed flow map', `{token: ${CANARY}`],
      ['YAML: tab indentation', `token:\t${CANARY}\n\tlisten: x`],
      ['token of the wrong type', `token: [${CANARY}]`],
      ['numeric token', `token: ${NUMERIC}`],
      ['too-short token', `token: CANARY7`],
      ['unknown key next to the token', `token: ${CANARY}\ntokn: ${CANARY}\nlisten: nowhere`],
      ['the token aliased into another key', `token: &t ${CANARY}\nlisten: *t`],
      ['admin token of the wrong type', `token: abcdefgh1234\nadmin: { token: [${CANARY}] }`],
      ['admin token too short', `token: abcdefgh1234\nadmin: { token: CANARY7 }`],
      ['TURN password of the wrong type', `token: abcdefgh1234\nstun: {}\nturn: { users: { alice: ${NUMERIC} } }`],
      ['TURN users as a string', `token: abcdefgh1234\nstun: {}\nturn: { users: ${CANARY} }`],
      ['TURN restSecret of the wrong type', `token: abcdefgh1234\nstun: {}\nturn: { restSecret: ${NUMERIC} }`],
      ['TURN unknown key next to a password', `token: abcdefgh1234\nstun: {}\nturn: { users: { alice: ${CANARY} }, realmm: x }`],
      ['the token pasted into listen', `token: abcdefgh1234\nlisten: ${CANARY}`],
      ['a TURN password pasted into relayIps', `token: abcdefgh1234\nstun: {}\nturn: { relayIps: [${CANARY}] }`],
    ];
    const client: Array<[string, string]> = [
      ['not a mapping', `server=a:1 token=${CANARY}`],
      ['token of the wrong type', `server: a:1\ntoken: { value: ${CANARY} }`],
      ['numeric token', `server: a:1\ntoken: ${NUMERIC}0`],
      ['too-short token', `server: a:1\ntoken: CANARY7`],
      ['too-short tunnel secret', `server: a:1\ntoken: abcdefgh\ntunnels: [{ name: x, type: secret, local: "a:1", secret: CANARY7 }]`],
      ['numeric tunnel secret', `server: a:1\ntoken: abcdefgh\ntunnels: [{ name: x, type: secret, local: "a:1", secret: ${NUMERIC} }]`],
      ['bad tunnel type next to a secret', `server: a:1\ntoken: abcdefgh\ntunnels: [{ name: x, type: secrett, local: "a:1", secret: ${CANARY} }]`],
      ['unknown key next to a secret', `server: a:1\ntoken: ${CANARY}\ntunnels: [{ name: x, type: secret, local: "a:1", secret: ${CANARY}, secrt: ${CANARY} }]`],
      ['visitor secret of the wrong type', `server: a:1\ntoken: abcdefgh\nvisitors: [{ name: x, tunnel: y, bind: "a:1", secret: [${CANARY}] }]`],
      ['the secret aliased into local', `server: a:1\ntoken: abcdefgh\ntunnels: [{ name: x, type: secret, local: &s ${CANARY}, secret: *s }]`],
      ['the token pasted into server', `server: ${CANARY}\ntoken: abcdefgh`],
      ['the secret pasted into local', `server: a:1\ntoken: abcdefgh\ntunnels: [{ name: x, type: secret, local: ${CANARY}, secret: abcdefgh }]`],
      ['the secret pasted into a visitor bind', `server: a:1\ntoken: abcdefgh\nvisitors: [{ name: x, tunnel: y, bind: ${CANARY}, secret: abcdefgh }]`],
    ];
    const leaks = (message: string) => message.includes('CANARY') || message.includes(String(NUMERIC));
    for (const [title, text] of server) {
      it(`server: ${title}`, () => {
        const err = configError(() => parseServerConfig(text, 's.yaml'));
        expect(err.issues.length).toBeGreaterThan(0);
        expect(leaks(err.message), err.message).toBe(false);
      });
    }
    for (const [title, text] of client) {
      it(`client: ${title}`, () => {
        const err = configError(() => parseClientConfig(text, 'c.yaml'));
        expect(err.issues.length).toBeGreaterThan(0);
        expect(leaks(err.message), err.message).toBe(false);
      });
    }
  });

  it('still shows values that are addresses, sizes or names, and hides ones that look like a pasted secret', () => {
    const shown = configError(() => parseClientConfig('server: localhost\ntoken: abcdefgh', 'c.yaml'));
    expect(shown.message).toContain('(got "localhost")');
    const hidden = configError(() => parseClientConfig('server: 9f86d081884c7d659a2feaa0c55ad015\ntoken: abcdefgh', 'c.yaml'));
    expect(hidden.message).toContain('(got a 32-character value that looks like a secret: not shown)');
    expect(hidden.message).not.toContain('9f86d081');
  });

  it('quotes odd keys in paths', () => {
    const err = configError(() => parseServerConfig(`${SERVER_HEAD}"my key": 1\n`, 's.yaml'));
    expect(err.issues).toEqual(['unknown key "my key"']);
  });
});

describe('parse*Config: good configs and defaults', () => {
  it('minimal server config gets every default', () => {
    const c = parseServerConfig(SERVER_HEAD, 'server.yaml');
    expect(c).toEqual({
      listen: '0.0.0.0:7000',
      token: 'correct-horse-battery',
      tls: true,
      proxyBind: '0.0.0.0',
      allowPorts: [[1024, 65535]],
      heartbeatTimeout: 90,
      workConnTimeout: 10,
      handshakeTimeout: 10,
      authFailureLimit: { failures: 5, windowSeconds: 60 },
      log: { level: 'info' },
    });
  });

  it('server config with explicit values', () => {
    const c = parseServerConfig(
      `${SERVER_HEAD}listen: "[::]:7443"\ntls: false\nallowPorts: ["6000-6100", 7000]\nheartbeatTimeout: 30\n` +
        'admin: { token: admin-token-123 }\nauthFailureLimit: { failures: 3 }\nlog: { level: debug }\n',
      'server.yaml',
    );
    expect(c.listen).toBe('[::]:7443');
    expect(c.tls).toBe(false);
    expect(c.allowPorts).toEqual([
      [6000, 6100],
      [7000, 7000],
    ]);
    expect(c.heartbeatTimeout).toBe(30);
    expect(c.admin).toEqual({ listen: '127.0.0.1:7500', token: 'admin-token-123' });
    expect(c.authFailureLimit).toEqual({ failures: 3, windowSeconds: 60 });
    expect(c.log.level).toBe('debug');
  });

  it('stun: STUN/TURN over TLS defaults to the listen host on port 5349; false turns it off', () => {
    const tlsOf = (stun: string) => stunTlsListen(parseServerConfig(`${SERVER_HEAD}stun: ${stun}\n`, 'server.yaml').stun!);
    expect(tlsOf('{}')).toBe('0.0.0.0:5349');
    expect(tlsOf('{ listen: "[::]:3478" }')).toBe('[::]:5349');
    expect(tlsOf('{ listen: "127.0.0.1:0" }')).toBe('127.0.0.1:0');
    expect(tlsOf('{ tlsListen: "192.0.2.1:443" }')).toBe('192.0.2.1:443');
    expect(tlsOf('{ tlsListen: false }')).toBeUndefined();
  });

  it('minimal client config gets every default', () => {
    const c = parseClientConfig(CLIENT_HEAD, 'client.yaml');
    expect(c).toEqual({
      server: 'relay.example.com:7000',
      token: 'correct-horse-battery',
      tls: true,
      mux: true,
      poolSize: 4,
      heartbeat: { interval: 10, timeout: 30 },
      admin: { listen: '127.0.0.1:7400' },
      log: { level: 'info' },
      tunnels: [],
      visitors: [],
    });
  });

  it('full client config with tcp, udp and secret tunnels and a visitor', () => {
    const yaml = `
server: "[2001:db8::1]:7000"
token: correct-horse-battery
serverFingerprint: "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"
clientId: home-nas
poolSize: 0
heartbeat:
  interval: 5
admin: false
tunnels:
  - name: ssh
    type: tcp
    local: 127.0.0.1:22
    remotePort: 6022
    bandwidth: 10MB
    allow: [203.0.113.0/24, "2001:db8::/32"]
  - name: dns
    type: udp
    local: 127.0.0.1:53
    remotePort: 0
    bandwidth: 512KiB
  - name: postgres
    type: secret
    local: 127.0.0.1:5432
    secret: a-long-shared-secret
    bandwidth: 1048576
visitors:
  - name: pg-visitor
    tunnel: postgres
    secret: a-long-shared-secret
    bind: 127.0.0.1:15432
`;
    const c = parseClientConfig(yaml, 'client.yaml');
    expect(c.server).toBe('[2001:db8::1]:7000');
    expect(c.clientId).toBe('home-nas');
    expect(c.poolSize).toBe(0);
    expect(c.heartbeat).toEqual({ interval: 5, timeout: 30 });
    expect(c.admin).toBe(false);
    expect(c.tunnels).toEqual([
      { name: 'ssh', type: 'tcp', local: '127.0.0.1:22', remotePort: 6022, bandwidth: 10_000_000, allow: ['203.0.113.0/24', '2001:db8::/32'] },
      { name: 'dns', type: 'udp', local: '127.0.0.1:53', remotePort: 0, bandwidth: 512 * 1024, idleTimeout: 60 },
      { name: 'postgres', type: 'secret', local: '127.0.0.1:5432', secret: 'a-long-shared-secret', bandwidth: 1048576 },
    ]);
    expect(c.visitors).toEqual([{ name: 'pg-visitor', type: 'secret', tunnel: 'postgres', secret: 'a-long-shared-secret', bind: '127.0.0.1:15432' }]);
  });

  it('p2p udp tunnel and visitor: protocol and idleTimeout as written, no defaults filled in', () => {
    const c = parseClientConfig(
      `${CLIENT_HEAD}tunnels:\n  - { name: game, type: p2p, protocol: udp, local: "127.0.0.1:27015", secret: a-long-secret, idleTimeout: 30 }\n` +
        'visitors:\n  - { name: g, type: p2p, protocol: udp, tunnel: game, secret: a-long-secret, bind: "127.0.0.1:27015", idleTimeout: 15 }\n',
      'client.yaml',
    );
    expect(c.tunnels[0]).toEqual({ name: 'game', type: 'p2p', protocol: 'udp', local: '127.0.0.1:27015', secret: 'a-long-secret', idleTimeout: 30 });
    expect(c.visitors[0]).toEqual({ name: 'g', type: 'p2p', protocol: 'udp', tunnel: 'game', secret: 'a-long-secret', bind: '127.0.0.1:27015', idleTimeout: 15 });
  });

  it('YAML anchors and aliases work', () => {
    const c = parseClientConfig(
      `${CLIENT_HEAD}tunnels:\n  - &base { name: a, type: tcp, local: "127.0.0.1:80", remotePort: 8080 }\nvisitors: []\n`,
      'client.yaml',
    );
    expect(c.tunnels).toHaveLength(1);
  });

  it('without baseDir, paths are left as written', () => {
    const c = parseServerConfig(`${SERVER_HEAD}stateDir: state\ntlsCert: certs/a.pem\ntlsKey: certs/a.key\n`, 'server.yaml');
    expect([c.stateDir, c.tlsCert, c.tlsKey]).toEqual(['state', 'certs/a.pem', 'certs/a.key']);
  });

  it('with baseDir, relative stateDir/tlsCert/tlsKey are resolved against it and absolute ones kept', () => {
    const s = parseServerConfig(`${SERVER_HEAD}stateDir: ./state\ntlsCert: certs/a.pem\ntlsKey: /abs/a.key\n`, 'server.yaml', '/etc/burrow');
    expect(s.stateDir).toBe(resolve('/etc/burrow/state'));
    expect(s.tlsCert).toBe(resolve('/etc/burrow/certs/a.pem'));
    expect(s.tlsKey).toBe(resolve('/abs/a.key'));
    const c = parseClientConfig(`${CLIENT_HEAD}stateDir: ../var\n`, 'client.yaml', '/etc/burrow');
    expect(c.stateDir).toBe(resolve('/etc/var'));
    expect('stateDir' in parseClientConfig(CLIENT_HEAD, 'client.yaml', '/etc/burrow')).toBe(false);
  });
});

describe('load*Config', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'burrow-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loadClientConfig reads a file and resolves stateDir against its directory', async () => {
    const path = join(dir, 'client.yaml');
    await writeFile(path, `${CLIENT_HEAD}stateDir: state\ntunnels:\n  - { name: dns, type: udp, local: "127.0.0.1:53", remotePort: 5353 }\n`);
    const c = await loadClientConfig(path);
    expect(c.stateDir).toBe(join(dir, 'state'));
    expect(c.tunnels[0]).toMatchObject({ type: 'udp', idleTimeout: 60 });
  });

  it('loadClientConfig on a missing file -> ConfigError "cannot read config: ENOENT"', async () => {
    const path = join(dir, 'nope.yaml');
    const err = await loadClientConfig(path).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.file).toBe(path);
    expect(e.issues).toEqual([]);
    expect(e.message).toBe(`${path}: cannot read config: ENOENT: no such file or directory`);
  });

  it('loadServerConfig on a directory -> ConfigError "cannot read config"', async () => {
    await expect(loadServerConfig(dir)).rejects.toThrow(`${dir}: cannot read config: EISDIR`);
  });

  it('loadServerConfig resolves tlsCert/tlsKey against the file directory', async () => {
    const path = join(dir, 'server.yaml');
    await writeFile(path, `${SERVER_HEAD}tlsCert: tls/cert.pem\ntlsKey: tls/key.pem\n`);
    const s = await loadServerConfig(path);
    expect(s.tlsCert).toBe(join(dir, 'tls/cert.pem'));
    expect(s.tlsKey).toBe(join(dir, 'tls/key.pem'));
    expect(s.stateDir).toBeUndefined();
  });

  it('a loaded file with errors names the file path', async () => {
    const path = join(dir, 'bad.yaml');
    await writeFile(path, 'server: a:1\n');
    await expect(loadClientConfig(path)).rejects.toThrow(`${path}: invalid config\n  token: required`);
  });
});
